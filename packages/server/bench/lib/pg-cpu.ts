/**
 * CPU time of the PostgreSQL processes serving the benchmark database (its backends plus
 * the WAL writer, checkpointer and background writer), read from /proc. Only meaningful
 * when PostgreSQL runs on this machine; otherwise `available` is false.
 *
 * Why not machine-wide CPU: the machine may be shared with other work (other databases'
 * backends included), which would be charged to the benchmark.
 */
import { readFileSync } from 'node:fs';
import type pg from 'pg';

const TICK_MS = 10; // CLK_TCK = 100 on Linux

export interface PgCpuSample {
  available: boolean;
  byPid: Map<number, number>;
}

function cpuMsOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command: state is field 3; utime 14, stime 15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(rest[11]);
    const stime = Number(rest[12]);
    return (utime + stime) * TICK_MS;
  } catch {
    return undefined;
  }
}

export async function pgCpuSample(client: pg.Client): Promise<PgCpuSample> {
  const { rows } = await client.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity
      WHERE datname = current_database() OR backend_type IN ('walwriter', 'checkpointer', 'background writer')`,
  );
  const byPid = new Map<number, number>();
  for (const r of rows) {
    const v = cpuMsOf(r.pid);
    if (v !== undefined) byPid.set(r.pid, v);
  }
  return { available: byPid.size > 0, byPid };
}

/** CPU ms the sampled processes used between two samples (new processes count in full). */
export function pgCpuDelta(a: PgCpuSample, b: PgCpuSample): number {
  if (!a.available || !b.available) return Number.NaN;
  let total = 0;
  for (const [pid, ms] of b.byPid) total += ms - (a.byPid.get(pid) ?? 0);
  return total;
}
