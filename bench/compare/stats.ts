/** Statistics, formatting and CPU accounting for the comparison benchmark. */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import os from 'node:os';
import type pg from 'pg';

// The server benchmark's helpers, so both benchmarks format and rank alike.
export {
  int,
  markdownTable,
  median,
  ms,
  pct,
  quantile,
} from '../../packages/server/bench/lib/stats.js';

/** `0.42×` */
export function ratio(n: number): string {
  return Number.isFinite(n) ? `${n >= 10 ? n.toFixed(1) : n.toFixed(2)}×` : 'n/a';
}

/** Runs `fn` over `items` with at most `limit` calls in flight; results in input order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      out[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

// ---------------------------------------------------------------------------------------
// CPU accounting (Linux /proc; NaN elsewhere)

const TICK_MS = 10; // CLK_TCK = 100 on Linux

/** utime + stime of a process in ms, or undefined when it is gone / not readable. */
export function procCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) * TICK_MS;
  } catch {
    return undefined;
  }
}

/**
 * The pid of the process listening on a local TCP port (from /proc/net/tcp{,6} and the
 * fd links of every process), or undefined when it cannot be found (not Linux, not root).
 */
export function pidListeningOn(port: number): number | undefined {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is "ADDR:PORT"; state 0A = LISTEN; inode is field 9.
      if (f[1]?.endsWith(`:${hexPort}`) && f[3] === '0A' && f[9]) inodes.add(f[9]);
    }
  }
  if (inodes.size === 0) return undefined;
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m && inodes.has(m[1] as string)) return Number(pid);
      } catch {
        // fd closed meanwhile
      }
    }
  }
  return undefined;
}

/** CPU ms of the PostgreSQL processes serving some databases, plus the shared writers. */
export interface PgCpuSample {
  byPid: Map<number, number>;
}

/**
 * Samples the backends of `databases` and the WAL writer, checkpointer and background writer.
 * Backends that exit between two samples are not counted (pools keep theirs open).
 */
export async function pgCpuSample(
  client: pg.Client,
  databases: readonly string[],
): Promise<PgCpuSample> {
  const { rows } = await client.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity
      WHERE (datname = ANY($1::text[]) AND pid <> pg_backend_pid())
         OR backend_type IN ('walwriter', 'checkpointer', 'background writer')`,
    [databases],
  );
  const byPid = new Map<number, number>();
  for (const r of rows) {
    const v = procCpuMs(r.pid);
    if (v !== undefined) byPid.set(r.pid, v);
  }
  return { byPid };
}

/** CPU ms between two samples (a process new in `b` counts in full). */
export function pgCpuDelta(a: PgCpuSample, b: PgCpuSample): number {
  if (b.byPid.size === 0) return Number.NaN;
  let total = 0;
  for (const [pid, cpu] of b.byPid) total += cpu - (a.byPid.get(pid) ?? 0);
  return total;
}

/** Machine-wide busy/total CPU ms from `os.cpus()`. */
function machineSample(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const c of os.cpus()) {
    const t = c.times;
    const sum = t.user + t.nice + t.sys + t.idle + t.irq;
    total += sum;
    busy += sum - t.idle;
  }
  return { busy, total };
}

/** CPU used during one measured phase, by where it ran. */
export interface CpuUse {
  wallMs: number;
  /** This Node process: the client, plus our server when it is the one measured. */
  nodeMs: number;
  /** The reference server process (NaN when it is not measured or not found). */
  referenceMs: number;
  /** PostgreSQL backends of the measured database(s) plus the shared writers. */
  pgMs: number;
  /** Everything busy on the machine (other load included). */
  machineBusyMs: number;
  cores: number;
}

/** What to sample around a phase. */
export interface CpuProbe {
  pg: pg.Client;
  databases: readonly string[];
  referencePid: number | undefined;
}

/** Runs `fn`, returning its value, wall time and CPU use. */
export async function measure<T>(
  probe: CpuProbe | undefined,
  fn: () => Promise<T>,
): Promise<{ value: T; ms: number; cpu: CpuUse }> {
  const pa = probe ? await pgCpuSample(probe.pg, probe.databases) : undefined;
  const ra = probe?.referencePid ? procCpuMs(probe.referencePid) : undefined;
  const ma = machineSample();
  const na = process.cpuUsage();
  const t0 = performance.now();
  const value = await fn();
  const wallMs = performance.now() - t0;
  const nb = process.cpuUsage(na);
  const mb = machineSample();
  const rb = probe?.referencePid ? procCpuMs(probe.referencePid) : undefined;
  const pb = probe ? await pgCpuSample(probe.pg, probe.databases) : undefined;
  return {
    value,
    ms: wallMs,
    cpu: {
      wallMs,
      nodeMs: (nb.user + nb.system) / 1000,
      referenceMs: ra !== undefined && rb !== undefined ? rb - ra : Number.NaN,
      pgMs: pa && pb ? pgCpuDelta(pa, pb) : Number.NaN,
      machineBusyMs: mb.busy - ma.busy,
      cores: os.cpus().length,
    },
  };
}
