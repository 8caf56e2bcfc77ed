/**
 * A timing wrapper around a {@link SyncDatabase}: it records the client-observed time of
 * every statement the service runs (plus pool-acquire/BEGIN and COMMIT of each
 * transaction), grouped by the endpoint that was being served. The endpoint ("phase") is
 * carried through async calls with AsyncLocalStorage, set by the benchmark around each
 * `service.fetch`.
 *
 * In EXPLAIN mode, selected statements are additionally run once as
 * `EXPLAIN (ANALYZE, BUFFERS)` inside a savepoint that is rolled back before the real
 * statement runs, so the service behaves exactly as without the wrapper while we obtain
 * PostgreSQL's own execution and trigger timings for that statement.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Queryable, QueryResult, SyncDatabase } from '@oversync/server';
import type { Experiment } from './experiments.js';

/**
 * Created only when profiling: AsyncLocalStorage turns on promise hooks, which cost every
 * promise in the process something, so a plain run must not pay for it.
 */
let store: AsyncLocalStorage<string> | undefined;

export function enablePhaseTracking(): void {
  store ??= new AsyncLocalStorage<string>();
}

const phaseStore = {
  getStore: (): string | undefined => store?.getStore(),
};

/** Runs `fn` with every statement it causes attributed to `phase` (when tracking is on). */
export function inPhase<T>(phase: string, fn: () => Promise<T>): Promise<T> {
  return store ? store.run(phase, fn) : fn();
}

interface Bucket {
  count: number;
  ms: number;
}

/** An EXPLAIN ANALYZE captured for one statement. */
export interface ExplainCapture {
  phase: string;
  label: string;
  sql: string;
  plan: string;
  executionMs: number;
  triggers: { name: string; ms: number; calls: number }[];
}

export class StatementRecorder {
  enabled = false;
  readonly byPhase = new Map<string, Map<string, Bucket>>();
  /** phase → wall time spent inside `service.fetch` for it, and the number of requests. */
  readonly requests = new Map<string, Bucket>();
  /** When set, statements of these phases are EXPLAIN-ANALYZEd once per label (then cleared). */
  explainPhases: Set<string> | null = null;
  readonly explained: ExplainCapture[] = [];
  /** Statement rewrites of BENCH_EXPERIMENTS (empty in a normal run). */
  experiments: Experiment[] = [];
  readonly experimentHits = new Map<string, number>();
  readonly #explainedKeys = new Set<string>();

  add(label: string, elapsed: number): void {
    if (!this.enabled) return;
    const phase = phaseStore.getStore() ?? '(no phase)';
    let m = this.byPhase.get(phase);
    if (!m) {
      m = new Map();
      this.byPhase.set(phase, m);
    }
    const b = m.get(label) ?? { count: 0, ms: 0 };
    b.count++;
    b.ms += elapsed;
    m.set(label, b);
  }

  addRequest(phase: string, elapsed: number): void {
    if (!this.enabled) return;
    const b = this.requests.get(phase) ?? { count: 0, ms: 0 };
    b.count++;
    b.ms += elapsed;
    this.requests.set(phase, b);
  }

  reset(): void {
    this.byPhase.clear();
    this.requests.clear();
  }

  wantsExplain(label: string): boolean {
    const phase = phaseStore.getStore();
    if (!this.explainPhases || !phase || !this.explainPhases.has(phase)) return false;
    const key = `${phase}\u0000${label}`;
    if (this.#explainedKeys.has(key)) return false;
    this.#explainedKeys.add(key);
    return true;
  }
}

/** A short, stable label for a SQL statement: its first ~90 characters, whitespace collapsed. */
export function sqlLabel(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 90 ? `${flat.slice(0, 87)}...` : flat;
}

const EXPLAINABLE = /^\s*(WITH|INSERT|UPDATE|DELETE|SELECT)\b/i;

function parseExplain(lines: string[]): {
  executionMs: number;
  triggers: ExplainCapture['triggers'];
} {
  let executionMs = Number.NaN;
  const triggers: ExplainCapture['triggers'] = [];
  for (const line of lines) {
    const exec = /Execution Time: ([\d.]+) ms/.exec(line);
    if (exec) executionMs = Number(exec[1]);
    const trig = /Trigger (.+?): time=([\d.]+) calls=(\d+)/.exec(line);
    if (trig)
      triggers.push({ name: trig[1] as string, ms: Number(trig[2]), calls: Number(trig[3]) });
  }
  return { executionMs, triggers };
}

/** Wraps a database so every statement is timed into `rec`. */
export function instrument(db: SyncDatabase, rec: StatementRecorder): SyncDatabase {
  const wrap = (q: Queryable, inTx: boolean): Queryable => ({
    async query<R>(original: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
      let text = original;
      for (const e of rec.experiments) {
        const r = e.rewrite(text);
        if (r === undefined) continue;
        rec.experimentHits.set(e.name, (rec.experimentHits.get(e.name) ?? 0) + 1);
        if (r === null) return { rows: [], rowCount: 0 };
        text = r;
      }
      const label = sqlLabel(original);
      if (inTx && rec.enabled && EXPLAINABLE.test(text) && rec.wantsExplain(label)) {
        await q.query('SAVEPOINT oversync_bench_explain');
        try {
          const res = await q.query<{ 'QUERY PLAN': string }>(
            `EXPLAIN (ANALYZE, BUFFERS, TIMING) ${text}`,
            params,
          );
          const lines = res.rows.map((r) => r['QUERY PLAN']);
          rec.explained.push({
            phase: phaseStore.getStore() ?? '',
            label,
            sql: text,
            plan: lines.join('\n'),
            ...parseExplain(lines),
          });
        } finally {
          await q.query('ROLLBACK TO SAVEPOINT oversync_bench_explain');
        }
      }
      const t0 = performance.now();
      try {
        return await q.query<R>(text, params);
      } finally {
        rec.add(label, performance.now() - t0);
      }
    },
    async exec(sql: string): Promise<void> {
      const t0 = performance.now();
      try {
        await q.exec(sql);
      } finally {
        rec.add(sqlLabel(sql), performance.now() - t0);
      }
    },
  });
  return {
    kind: db.kind,
    ...wrap(db, false),
    async transaction(fn, options) {
      const t0 = performance.now();
      let bodyEnd = 0;
      let began = false;
      try {
        return await db.transaction(async (tx) => {
          began = true;
          rec.add('(pool acquire + BEGIN)', performance.now() - t0);
          try {
            return await fn(wrap(tx, true));
          } finally {
            bodyEnd = performance.now();
          }
        }, options);
      } finally {
        if (began) rec.add('(COMMIT / ROLLBACK)', performance.now() - bodyEnd);
      }
    },
    listen: (channel, onPayload) => db.listen(channel, onPayload),
    close: () => db.close(),
  };
}
