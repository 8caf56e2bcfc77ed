import { type ErrorCode, SyncError } from '@oversync/protocol';

/**
 * A non-blocking counting semaphore: past its capacity a request is answered 429 with
 * `Retry-After` instead of queueing, so a burst of rebuilds cannot exhaust the database.
 */
export class Admission {
  #inUse = 0;
  constructor(
    readonly capacity: number,
    readonly code: ErrorCode,
    readonly retryAfterSeconds = 1,
  ) {}

  /** Runs `fn` holding one slot, or throws the capacity error. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#inUse >= this.capacity) {
      throw new SyncError(this.code, 'too many concurrent snapshot requests; retry later', {
        headers: { 'Retry-After': String(this.retryAfterSeconds) },
      });
    }
    this.#inUse++;
    try {
      return await fn();
    } finally {
      this.#inUse--;
    }
  }

  /** Slots currently taken. */
  get inUse(): number {
    return this.#inUse;
  }
}
