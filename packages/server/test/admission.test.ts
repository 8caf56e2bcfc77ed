/**
 * Snapshot admission: immediate 429 (G2) or a bounded wait (G1).
 */

import { isSyncError } from '@oversync/protocol';
import { describe, expect, it } from 'vitest';
import { Admission } from '../src/snapshot/admission.js';

function gate(): { promise: Promise<void>; open: () => void } {
  let open = () => {};
  const promise = new Promise<void>((r) => {
    open = r;
  });
  return { promise, open };
}

describe('Admission', () => {
  it('answers 429 with Retry-After at once when full and not asked to wait', async () => {
    const a = new Admission(1, 'snapshot_build_capacity');
    const g = gate();
    const first = a.run(() => g.promise);
    const err = await a.run(async () => 'never').catch((e: unknown) => e);
    expect(isSyncError(err) && [err.code, err.status, err.headers['Retry-After']]).toEqual([
      'snapshot_build_capacity',
      429,
      '1',
    ]);
    g.open();
    await first;
    expect(a.inUse).toBe(0);
  });

  it('queues waiting requests in order and hands each freed slot to the next', async () => {
    const a = new Admission(1, 'snapshot_build_capacity');
    const g = gate();
    const order: number[] = [];
    const first = a.run(async () => {
      await g.promise;
      order.push(0);
    });
    const waiting = [1, 2, 3].map((i) =>
      a.run(
        async () => {
          order.push(i);
          expect(a.inUse).toBe(1);
        },
        { waitMs: 5_000 },
      ),
    );
    expect(a.waiting).toBe(3);
    g.open();
    await Promise.all([first, ...waiting]);
    expect(order).toEqual([0, 1, 2, 3]);
    expect([a.inUse, a.waiting]).toEqual([0, 0]);
  });

  it('gives up with 429 when no slot frees within waitMs', async () => {
    const a = new Admission(1, 'snapshot_chunk_capacity');
    const g = gate();
    const first = a.run(() => g.promise);
    const err = await a.run(async () => 'late', { waitMs: 30 }).catch((e: unknown) => e);
    expect(isSyncError(err) && err.code).toBe('snapshot_chunk_capacity');
    expect(a.waiting).toBe(0);
    g.open();
    await first;
    expect(a.inUse).toBe(0);
  });
});
