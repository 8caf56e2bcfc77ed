import { WATCH_NOTIFY_CHANNEL } from '@oversync/protocol';
import type { CommittedBundle } from '../capture/bundle-writer.js';
import type { SyncDatabase } from '../db/sync-database.js';
import type { Logger } from '../util/logger.js';

/** A wake-up hint for one user: "bundle N exists". */
export interface WatchEvent {
  bundleSeq: bigint;
  sourceId?: string;
  sourceBundleId?: string;
}

/** One open watch stream. */
export interface WatchSubscriber {
  /** Highest bundle_seq delivered or queued. */
  lastSeq: bigint;
  /** The newest undelivered event (newer events replace older ones). */
  pending: WatchEvent | null;
  /** Called when `pending` changes or the hub closes. */
  wake(): void;
  closed: boolean;
}

/**
 * Fans bundle announcements out to the watch streams of this process, and across
 * processes through PostgreSQL NOTIFY.
 *
 * Why a one-slot buffer: events are hints; a slow stream must never slow a commit, so a
 * newer event simply replaces an undelivered older one.
 */
export class WatchHub {
  readonly #subs = new Map<string, Set<WatchSubscriber>>();
  #unlisten: (() => Promise<void>) | undefined;

  constructor(
    private readonly db: SyncDatabase,
    private readonly logger: Logger,
    /** Whether other processes need to hear about commits (false when watch is disabled). */
    private readonly notifyOthers = true,
  ) {}

  /** Starts listening for announcements of other processes. */
  async start(): Promise<void> {
    this.#unlisten = await this.db.listen(WATCH_NOTIFY_CHANNEL, (payload) => {
      if (payload === '') {
        void this.catchUp();
        return;
      }
      try {
        const m = JSON.parse(payload) as {
          user_pk: string;
          bundle_seq: string;
          source_id?: string;
          source_bundle_id?: string;
        };
        this.publish(String(m.user_pk), {
          bundleSeq: BigInt(m.bundle_seq),
          ...(m.source_id ? { sourceId: m.source_id } : {}),
          ...(m.source_bundle_id ? { sourceBundleId: String(m.source_bundle_id) } : {}),
        });
      } catch (err) {
        this.logger.warn({ err, payload }, 'ignoring malformed watch notification');
      }
    });
  }

  /** After a listener reconnect: republish every watched user's latest bundle. */
  async catchUp(): Promise<void> {
    const users = [...this.#subs.keys()];
    if (users.length === 0) return;
    try {
      const { rows } = await this.db.query<{ user_pk: string; latest: string }>(
        `SELECT user_pk::text AS user_pk, (next_bundle_seq - 1)::text AS latest FROM sync.user_state
          WHERE user_pk = ANY($1::int8[])`,
        [users],
      );
      for (const r of rows)
        if (r.latest !== '0') this.publish(r.user_pk, { bundleSeq: BigInt(r.latest) });
    } catch (err) {
      this.logger.warn({ err }, 'watch catch-up failed');
    }
  }

  /** Announces a committed bundle here and to every other process. */
  announce(bundle: CommittedBundle): void {
    this.publish(bundle.userPk, {
      bundleSeq: BigInt(bundle.bundleSeq),
      sourceId: bundle.sourceId,
      sourceBundleId: bundle.sourceBundleId,
    });
    if (!this.notifyOthers) return;
    // After commit on purpose: NOTIFY inside the commit would serialise all committers.
    const payload = JSON.stringify({
      user_pk: bundle.userPk,
      bundle_seq: bundle.bundleSeq,
      source_id: bundle.sourceId,
      source_bundle_id: bundle.sourceBundleId,
    });
    this.db
      .query('SELECT pg_notify($1, $2)', [WATCH_NOTIFY_CHANNEL, payload])
      .catch((err: unknown) => this.logger.warn({ err }, 'watch notify failed'));
  }

  /** Queues an event for the user's subscribers that have not seen it yet. */
  publish(userPk: string, event: WatchEvent): void {
    const set = this.#subs.get(userPk);
    if (!set) return;
    for (const s of set) {
      if (event.bundleSeq <= s.lastSeq) continue;
      s.lastSeq = event.bundleSeq;
      s.pending = event;
      s.wake();
    }
  }

  readonly #pkByUserId = new Map<string, string>();

  /** Registers a subscriber; returns the unsubscribe function. */
  subscribe(userPk: string, sub: WatchSubscriber, userId?: string): () => void {
    if (userId !== undefined) this.#pkByUserId.set(userId, userPk);
    let set = this.#subs.get(userPk);
    if (!set) {
      set = new Set();
      this.#subs.set(userPk, set);
    }
    set.add(sub);
    return () => {
      set.delete(sub);
      if (set.size === 0 && this.#subs.get(userPk) === set) this.#subs.delete(userPk);
    };
  }

  /** Subscribers of one user (by external user id) in this process. */
  countByUserId(userId: string): number {
    const pk = this.#pkByUserId.get(userId);
    return pk === undefined ? 0 : (this.#subs.get(pk)?.size ?? 0);
  }

  /** Ends every stream (service close). */
  async close(): Promise<void> {
    for (const set of this.#subs.values()) {
      for (const s of set) {
        s.closed = true;
        s.wake();
      }
    }
    this.#subs.clear();
    if (this.#unlisten) await this.#unlisten().catch(() => undefined);
  }
}
