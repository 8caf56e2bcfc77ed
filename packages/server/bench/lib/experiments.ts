/**
 * "What if" experiments for the investigation in docs/benchmarks.md: the harness rewrites
 * (or skips) specific statements of the service on their way to PostgreSQL, so the effect
 * of a proposed server change can be measured without editing the server. Enabled only by
 * `BENCH_EXPERIMENTS=name,name`; a normal run never rewrites anything.
 *
 * Each rewrite is a literal text substitution that must match the server's current SQL;
 * if it does not match (the server changed), the experiment reports itself unused.
 */

export interface Experiment {
  name: string;
  description: string;
  /** Returns the statement to run instead, `null` to skip it (empty result), or undefined for no change. */
  rewrite(text: string): string | null | undefined;
}

function replaceOnce(text: string, from: string, to: string): string | undefined {
  const i = text.indexOf(from);
  return i < 0 ? undefined : text.slice(0, i) + to + text.slice(i + from.length);
}

export const EXPERIMENTS: readonly Experiment[] = [
  {
    name: 'conflicts-lateral',
    description:
      'push/conflicts.ts: look up row_state per staged row with a LATERAL … LIMIT 1 subquery, so every probe uses the full (user_pk, table_id, key) primary key',
    rewrite: (text) =>
      replaceOnce(
        text,
        'LEFT JOIN sync.row_state rs ON rs.user_pk = $2::int8 AND rs.table_id = r.table_id AND rs.key = r.key',
        `LEFT JOIN LATERAL (SELECT x.user_pk, x.bundle_seq, x.deleted FROM sync.row_state x
          WHERE x.user_pk = $2::int8 AND x.table_id = r.table_id AND x.key = r.key LIMIT 1) rs ON true`,
      ),
  },
  {
    name: 'snapshot-join-both-ways',
    description:
      'snapshot/create-snapshot.ts: state the business-row ⇄ row_state key equality in both directions (uuid keys) so either side can be probed by its primary key',
    rewrite: (text) =>
      text.includes('INSERT INTO sync.snapshot_rows')
        ? replaceOnce(
            text,
            'AND rs.key = b."id"::text',
            'AND rs.key = b."id"::text AND b."id" = rs.key::uuid',
          )
        : undefined,
  },
  {
    name: 'prepared',
    description:
      'db/pg-database.ts: run parameterised statements as named prepared statements (parse and plan once per connection)',
    rewrite: () => undefined,
  },
  {
    name: 'no-notify',
    description:
      'watch/watch-hub.ts: skip the post-commit pg_notify (the benchmark runs with watch disabled and a single process)',
    rewrite: (text) => (text.startsWith('SELECT pg_notify(') ? null : undefined),
  },
];

export function selectExperiments(spec: string | undefined): Experiment[] {
  if (!spec) return [];
  const names = spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return names.map((n) => {
    const e = EXPERIMENTS.find((x) => x.name === n);
    if (!e)
      throw new Error(
        `unknown experiment ${n}; known: ${EXPERIMENTS.map((x) => x.name).join(', ')}`,
      );
    return e;
  });
}
