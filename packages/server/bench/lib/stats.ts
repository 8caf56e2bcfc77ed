/** Small statistics, CPU accounting and formatting helpers for the benchmark output. */
import os from 'node:os';

/** The q-quantile (0..1) of a sample, nearest-rank on the sorted values. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil(q * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))] as number;
}

export const median = (values: readonly number[]): number => quantile(values, 0.5);

/** `12,345` */
export function int(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a';
}

/** `12.3` */
export function ms(n: number): string {
  if (!Number.isFinite(n)) return 'n/a';
  return n >= 100 ? n.toFixed(0) : n.toFixed(1);
}

/** `23.4%` */
export function pct(n: number): string {
  return Number.isFinite(n) ? `${(n * 100).toFixed(1)}%` : 'n/a';
}

/** Renders a GitHub-flavoured markdown table. */
export function markdownTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Busy/total CPU milliseconds of the whole machine, from `os.cpus()` tick counters. */
export interface CpuSample {
  busyMs: number;
  totalMs: number;
  processUs: NodeJS.CpuUsage;
  at: number;
}

/** Takes a CPU sample (machine-wide tick counters plus this process's own usage). */
export function cpuSample(): CpuSample {
  let busy = 0;
  let total = 0;
  for (const c of os.cpus()) {
    const t = c.times;
    const sum = t.user + t.nice + t.sys + t.idle + t.irq;
    total += sum;
    busy += sum - t.idle;
  }
  return { busyMs: busy, totalMs: total, processUs: process.cpuUsage(), at: performance.now() };
}

/** CPU spent between two samples: by this Node process, and by everything else (PostgreSQL). */
export interface CpuDelta {
  wallMs: number;
  machineBusyMs: number;
  nodeMs: number;
  otherMs: number;
}

export function cpuDelta(a: CpuSample, b: CpuSample): CpuDelta {
  const machineBusyMs = b.busyMs - a.busyMs;
  const nodeMs =
    (b.processUs.user - a.processUs.user + b.processUs.system - a.processUs.system) / 1000;
  return {
    wallMs: b.at - a.at,
    machineBusyMs,
    nodeMs,
    otherMs: Math.max(0, machineBusyMs - nodeMs),
  };
}
