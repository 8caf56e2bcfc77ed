/** The JSON written with BENCH_JSON_OUT, read back by render-svg.ts. */
import type { CpuUse } from './stats.js';

/** Who served a measurement. */
export type Side = 'ours' | 'reference' | 'raw';

/** Repeated runs of one workload on one side. */
export interface Measurement {
  /** Throughput of each repeat, in the workload's unit. */
  rates: number[];
  /** Highest rate. */
  best: number;
  median: number;
  /** Wall time of each repeat (ms). */
  wallMs: number[];
  /** Workload-specific numbers of the best repeat (latencies in ms, counts). */
  detail: Record<string, number>;
  /** CPU use of each repeat. */
  cpu: CpuUse[];
}

export type WorkloadId = 'push' | 'pull' | 'snapshot-1000' | 'snapshot-5000' | 'users';

export interface WorkloadResult {
  id: WorkloadId;
  title: string;
  unit: 'rows/s' | 'users/s';
  ours: Measurement;
  /** Absent when the reference was not measured. */
  reference?: Measurement;
  raw: Measurement;
}

export interface CompareResults {
  date: string;
  machine: {
    cpu: string;
    cores: number;
    ramGiB: number;
    os: string;
    node: string;
    postgres: string;
    /** Commit of the measured code (noting uncommitted server/protocol changes). */
    code: string;
    loadAverageAtStart: number[];
    loadAverageAtEnd: number[];
  };
  config: {
    bundles: number;
    devices: number;
    rowsPerBundle: number;
    bigRows: number;
    users: number;
    usersConcurrency: number;
    repeats: number;
    oursPool: number;
    referencePool: string;
    analyze: boolean;
    payloadBytes: number;
  };
  reference: {
    measured: boolean;
    url?: string;
    pid?: number;
    note?: string;
  };
  /** Untimed seeding of the 100k-row user (serial 1000-row bundles), rows/s per side. */
  seeding: Partial<Record<Exclude<Side, 'raw'>, { rows: number; ms: number; rate: number }>>;
  workloads: WorkloadResult[];
  /** Unexpected final HTTP statuses and failed users; the run exits non-zero when not empty. */
  failures: string[];
}
