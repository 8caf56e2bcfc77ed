import { type ErrorCode, SyncError } from '@oversync/protocol';

/**
 * A counting semaphore for snapshot work, so a burst of rebuilds cannot exhaust the database.
 * Past its capacity a request is either answered 429 with `Retry-After` at once (G2: its
 * clients back off by `Retry-After`), or — with `waitMs` — queued first (G1: go-oversync has no
 * admission limit and its Go client gives up on 429 after three quick retries), and answered
 * 429 only when no slot frees within `waitMs`.
 *
 * @example
 * ```ts
 * const builds = new Admission(2, 'snapshot_build_capacity');
 * await builds.run(() => createSnapshot(ctx, actor, body), { waitMs: 30_000 });
 * ```
 */
export class Admission {
  #inUse = 0;
  readonly #waiters: (() => void)[] = [];
  constructor(
    readonly capacity: number,
    readonly code: ErrorCode,
    readonly retryAfterSeconds = 1,
    /** Most requests that may wait for a slot at once (beyond them: 429 at once). */
    readonly maxWaiting = 10_000,
  ) {}

  #busy(): SyncError {
    return new SyncError(this.code, 'too many concurrent snapshot requests; retry later', {
      headers: { 'Retry-After': String(this.retryAfterSeconds) },
    });
  }

  /** Takes a slot, waiting up to `waitMs` for one. */
  async #acquire(waitMs: number): Promise<void> {
    if (this.#inUse < this.capacity) {
      this.#inUse++;
      return;
    }
    if (waitMs <= 0 || this.#waiters.length >= this.maxWaiting) throw this.#busy();
    await new Promise<void>((resolve, reject) => {
      const grant = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        const i = this.#waiters.indexOf(grant);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(this.#busy());
      }, waitMs);
      timer.unref?.();
      this.#waiters.push(grant);
    });
  }

  #release(): void {
    // A waiting request inherits the slot directly, so the count never dips below capacity
    // while others wait (no barging by new arrivals).
    const next = this.#waiters.shift();
    if (next) next();
    else this.#inUse--;
  }

  /** Runs `fn` holding one slot, or throws the capacity error. */
  async run<T>(fn: () => Promise<T>, options: { waitMs?: number } = {}): Promise<T> {
    await this.#acquire(options.waitMs ?? 0);
    try {
      return await fn();
    } finally {
      this.#release();
    }
  }

  /** Slots currently taken. */
  get inUse(): number {
    return this.#inUse;
  }

  /** Requests waiting for a slot. */
  get waiting(): number {
    return this.#waiters.length;
  }
}
