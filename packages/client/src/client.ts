/**
 * `createOversyncClient`: the public face of the engine. One client per database; every
 * operation that changes sync state runs under one operation lock (a second concurrent call
 * fails fast with `sync_operation_in_progress`), returns a typed report, and accepts an
 * `AbortSignal`.
 *
 * @module
 */

import {
  DEFAULT_LIMITS,
  DEFAULT_RETRY,
  DEFAULT_WATCH,
  defaultSleep,
  type OversyncClientOptions,
  SILENT_LOGGER,
} from './config.js';
import type { EngineContext } from './engine-context.js';
import { clientError, isOversyncClientError } from './errors.js';
import {
  ClientEventEmitter,
  type ClientEvents,
  type ClientListener,
  type ClientPhase,
} from './events/emitter.js';
import { type AttachResult, attachUser } from './lifecycle/attach.js';
import { type DetachResult, detachUser } from './lifecycle/detach.js';
import { SOURCE_RECOVERY_REASONS } from './lifecycle/source-recovery.js';
import {
  type ClientCommand,
  type ClientState,
  COMMAND_GUARDS,
  deriveClientState,
} from './lifecycle/state-machine.js';
import {
  type PendingSyncStatus,
  readPendingStatus,
  readSourceInfo,
  readSyncStatus,
  type SourceInfo,
  type SyncStatus,
} from './lifecycle/status.js';
import { initializeLocalRuntime, uninstallLocalRuntime } from './local/initialize.js';
import type { LocalSchema } from './local/local-schema-types.js';
import { bindLocalSource } from './local/source-binding.js';
import {
  countDirtyRows,
  countOutboxRows,
  readAttachment,
  readOperation,
  readOutboxHeader,
} from './local/state-store.js';
import { CheckpointRecoveryNeeded, type PullReport, pullToStable } from './pull/pull-workflow.js';
import { serverWins } from './push/conflict-resolver.js';
import { type PushReport, pushPending } from './push/push-workflow.js';
import { callRemote } from './remote/call.js';
import { checkCapabilities } from './remote/handshake.js';
import { createHttpRemoteApi } from './remote/http-remote-api.js';
import type { RemoteApi } from './remote/remote-api.js';
import { isTransientError } from './remote/transient-retry.js';
import { type RestoreSummary, rebuildFromSnapshot } from './snapshot/rebuild.js';
import {
  type AutomaticDownloadsHandle,
  type AutomaticDownloadsOptions,
  startAutomaticDownloads,
} from './watch/automatic-downloads.js';

/**
 * Options accepted by every network operation.
 *
 * @example
 * ```ts
 * await client.sync({ signal: AbortSignal.timeout(30_000) });
 * ```
 */
export interface OperationOptions {
  readonly signal?: AbortSignal;
}

/**
 * Result of `sync` (push, then pull).
 *
 * @example
 * ```ts
 * const { push, pull } = await client.sync();
 * console.log(push.rowCount, pull.updatedTables);
 * ```
 */
export interface SyncReport {
  readonly push: PushReport;
  readonly pull: PullReport;
  readonly status: SyncStatus;
}

/**
 * Result of `rebuild`.
 *
 * @example
 * ```ts
 * const { mode, restore } = await client.rebuild();
 * console.log(mode, restore.bundleSeq);
 * ```
 */
export interface RebuildReport {
  readonly outcome: 'applied_snapshot';
  readonly mode: 'keep_source' | 'rotate_source' | 'preserve_committed';
  readonly restore: RestoreSummary;
}

/**
 * Result of `syncThenDetach`.
 *
 * @example
 * ```ts
 * const result = await client.syncThenDetach();
 * if (!result.isSuccess) warn(`${result.remainingPendingRowCount} rows not synced`);
 * ```
 */
export interface SyncThenDetachResult {
  readonly isSuccess: boolean;
  readonly lastSync?: SyncReport;
  readonly detach: DetachResult;
  readonly syncRounds: number;
  readonly remainingPendingRowCount: number;
}

/**
 * The oversync client. Create with {@link createOversyncClient}.
 *
 * @example
 * ```ts
 * await client.open();
 * const attached = await client.attach('user-123');
 * if (attached.status === 'retry_later') setTimeout(retry, attached.retryAfterSeconds * 1000);
 * db.prepare('INSERT INTO todos(id, title) VALUES (?, ?)').run(crypto.randomUUID(), 'milk');
 * await client.sync();
 * ```
 */
export class OversyncClient {
  readonly #ctx: EngineContext;
  readonly #config: { schema: string; tables: OversyncClientOptions['tables'] };
  #opened = false;
  #closed = false;
  #sessionUserId: string | undefined;
  #busy: string | undefined;
  #busyBackground = false;
  #busyDone: Promise<void> | undefined;
  #phase: ClientPhase = 'closed';
  #downloads: AutomaticDownloadsHandle | undefined;

  /** @internal use {@link createOversyncClient} */
  constructor(options: OversyncClientOptions, remote?: RemoteApi) {
    const logger = options.logger ?? SILENT_LOGGER;
    const events = new ClientEventEmitter((error) =>
      logger.warn({ err: error }, 'oversync client event listener threw'),
    );
    this.#config = { schema: options.schema ?? 'main', tables: options.tables };
    this.#ctx = {
      db: options.driver,
      remote:
        remote ??
        createHttpRemoteApi({
          baseUrl: options.baseUrl,
          ...(options.fetch ? { fetch: options.fetch } : {}),
          ...(options.getToken ? { getToken: options.getToken } : {}),
          ...(options.headers ? { headers: { ...options.headers } } : {}),
        }),
      schema: { schema: this.#config.schema, tables: [], byName: new Map() } as LocalSchema,
      limits: { ...DEFAULT_LIMITS, ...options.limits },
      retry: { ...DEFAULT_RETRY, ...options.retry },
      watch: { ...DEFAULT_WATCH, ...options.watch },
      logger,
      resolver: options.resolver ?? serverWins,
      maxConflictRetries: options.maxConflictRetries ?? 2,
      snapshotCapacityRetryMs: options.snapshotCapacityRetryMs ?? 30_000,
      randomUUID: options.randomUUID ?? (() => globalThis.crypto.randomUUID()),
      random: options.random ?? Math.random,
      now: options.now ?? Date.now,
      sleep: options.sleep ?? defaultSleep,
      events,
    };
  }

  /** The current phase (see docs/client.md). */
  get phase(): ClientPhase {
    return this.#phase;
  }

  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof ClientEvents>(name: K, listener: ClientListener<K>): () => void {
    return this.#ctx.events.on(name, listener);
  }

  /**
   * Local startup; call on every launch before anything else. Validates the table config
   * (nothing is created when it is invalid), installs the `_sync_*` runtime and capture
   * triggers, and binds a writer source. Idempotent.
   */
  async open(): Promise<void> {
    this.#assertNotClosed();
    await this.#exclusive('open', 'idle', async () => {
      this.#ctx.schema = await initializeLocalRuntime(this.#ctx.db, this.#config);
      await bindLocalSource(this.#ctx.db, this.#ctx.schema, this.#ctx.randomUUID);
      this.#opened = true;
      this.#sessionUserId = undefined;
    });
    this.#setPhase('idle');
  }

  /** Binds the database to `userId` (see {@link AttachResult} for the outcomes). */
  async attach(userId: string, options: OperationOptions = {}): Promise<AttachResult> {
    const result = await this.#exclusive('attach', 'attaching', async () => {
      await this.#guard('attach');
      return attachUser(this.#ctx, userId, options.signal);
    });
    if (result.status === 'connected') this.#sessionUserId = userId;
    return result;
  }

  /** Pushes pending local changes: the frozen outbox if one exists, else the dirty rows, as one bundle. */
  async pushPending(options: OperationOptions = {}): Promise<PushReport> {
    return this.#exclusive('pushPending', 'pushing', async () => {
      await this.#guard('pushPending');
      await this.#checkServer(options.signal);
      return pushPending(this.#ctx, options.signal);
    });
  }

  /** Pulls remote changes up to the server's stable sequence (runs checkpoint recovery if needed). */
  async pullToStable(options: OperationOptions = {}): Promise<PullReport> {
    return this.#exclusive('pullToStable', 'pulling', async () => {
      await this.#guard('pullToStable');
      await this.#checkServer(options.signal);
      return this.#pullWithRecovery(options.signal);
    });
  }

  /** Push then pull. */
  async sync(options: OperationOptions = {}): Promise<SyncReport> {
    return this.#exclusive('sync', 'pushing', async () => {
      await this.#guard('sync');
      return this.#syncLocked(options.signal);
    });
  }

  /**
   * Rebuilds local state from a server snapshot: in source recovery with a rotated source,
   * after a pruned committed replay preserving it, otherwise keeping the source.
   */
  async rebuild(options: OperationOptions = {}): Promise<RebuildReport> {
    return this.#exclusive('rebuild', 'rebuilding', async () => {
      await this.#guard('rebuild');
      const operation = await readOperation(this.#ctx.db);
      const header = await readOutboxHeader(this.#ctx.db);
      const mode =
        operation.kind === 'source_recovery'
          ? 'rotate_source'
          : header.state === 'committed_remote'
            ? 'preserve_committed'
            : 'keep_source';
      const restore = await rebuildFromSnapshot(this.#ctx, {
        mode,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      return { outcome: 'applied_snapshot', mode, restore };
    });
  }

  /**
   * Detaches the user: wipes managed tables and sync state, rotates the source. Returns
   * `blocked_unsynced_data` (changing nothing) while unsynced rows exist.
   */
  async detach(): Promise<DetachResult> {
    const result = await this.#exclusive('detach', 'detaching', async () => {
      await this.#guard('detach');
      return detachUser(this.#ctx);
    });
    if (result.outcome === 'detached') this.#sessionUserId = undefined;
    return result;
  }

  /** Up to three rounds of sync + detach; stops early when the pending count stops shrinking. */
  async syncThenDetach(options: OperationOptions = {}): Promise<SyncThenDetachResult> {
    const result = await this.#exclusive('syncThenDetach', 'pushing', async () => {
      await this.#guard('syncThenDetach');
      let lastSync: SyncReport | undefined;
      let rounds = 0;
      let previousPending = Number.POSITIVE_INFINITY;
      let detach: DetachResult = { outcome: 'blocked_unsynced_data', pendingRowCount: 0 };
      while (rounds < 3) {
        rounds++;
        lastSync = await this.#syncLocked(options.signal);
        this.#setPhase('detaching');
        detach = await detachUser(this.#ctx);
        if (detach.outcome === 'detached') break;
        if (detach.pendingRowCount >= previousPending) break;
        previousPending = detach.pendingRowCount;
      }
      return {
        isSuccess: detach.outcome === 'detached',
        ...(lastSync ? { lastSync } : {}),
        detach,
        syncRounds: rounds,
        remainingPendingRowCount: detach.outcome === 'detached' ? 0 : detach.pendingRowCount,
      };
    });
    if (result.isSuccess) this.#sessionUserId = undefined;
    return result;
  }

  /** Status of pending local work. */
  async pendingSyncStatus(): Promise<PendingSyncStatus> {
    await this.#guard('status');
    return readPendingStatus(this.#ctx.db);
  }

  /** Overall status. */
  async syncStatus(): Promise<SyncStatus> {
    await this.#guard('status');
    return readSyncStatus(this.#ctx.db);
  }

  /** Writer identity and recovery state. */
  async sourceInfo(): Promise<SourceInfo> {
    await this.#guard('status');
    return readSourceInfo(this.#ctx.db);
  }

  /**
   * Removes sync from this database: drops triggers and every `_sync_*` table, keeps the app
   * tables and their rows. The client is closed afterwards.
   */
  async uninstallSync(): Promise<void> {
    this.#assertNotClosed();
    await this.#exclusive('uninstallSync', 'closed', async () => {
      await this.#downloads?.stop();
      await uninstallLocalRuntime(this.#ctx.db, this.#config);
    });
    this.#closed = true;
    this.#opened = false;
    this.#setPhase('closed');
  }

  /**
   * Starts automatic downloads: the watch stream (SSE) wakes a pull on every server change,
   * with fallback polling and jittered reconnect backoff. Idempotent while running.
   */
  startAutomaticDownloads(options: AutomaticDownloadsOptions = {}): AutomaticDownloadsHandle {
    this.#assertNotClosed();
    if (!this.#opened) throw clientError('open_required', 'call open() first');
    if (!this.#sessionUserId) {
      throw clientError('attach_required', 'call attach(userId) in this process first');
    }
    if (this.#downloads?.running) return this.#downloads;
    this.#downloads = startAutomaticDownloads(this.#ctx, {
      pull: async (signal) => {
        try {
          return await this.#exclusive(
            'automaticDownload',
            'pulling',
            async () => {
              await this.#guard('pullToStable');
              await this.#checkServer(signal);
              return this.#pullWithRecovery(signal);
            },
            true,
          );
        } catch (error) {
          if (isOversyncClientError(error, 'sync_operation_in_progress')) return undefined;
          throw error;
        }
      },
      checkpoint: async () => (await readAttachment(this.#ctx.db)).lastBundleSeqSeen,
      sourceId: async () => (await readAttachment(this.#ctx.db)).currentSourceId,
      ...options,
    });
    return this.#downloads;
  }

  /** Stops background work. The driver is not closed (the app owns it). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#downloads?.stop();
    this.#setPhase('closed');
  }

  // --- internals ---

  async #syncLocked(signal?: AbortSignal): Promise<SyncReport> {
    await this.#checkServer(signal);
    this.#setPhase('pushing');
    let push: PushReport;
    const before = await readAttachment(this.#ctx.db);
    const header = await readOutboxHeader(this.#ctx.db);
    if (before.rebuildRequired && header.state === 'committed_remote') {
      // The committed bundle cannot be replayed: checkpoint recovery below restores it.
      push = { outcome: 'no_change', rowCount: 0, conflictsResolved: 0, updatedTables: [] };
    } else {
      try {
        push = await pushPending(this.#ctx, signal);
      } catch (error) {
        if (!isOversyncClientError(error, 'rebuild_required')) throw error;
        // Committed replay lost (pruned or re-spelled): the pull's checkpoint recovery
        // rebuilds from a snapshot that contains our committed bundle.
        push = { outcome: 'committed', rowCount: 0, conflictsResolved: 0, updatedTables: [] };
      }
    }
    this.#setPhase('pulling');
    const pull = await this.#pullWithRecovery(signal);
    return { push, pull, status: await readSyncStatus(this.#ctx.db) };
  }

  /** Pull; when the checkpoint cannot be served (or a rebuild is pending) run checkpoint recovery. */
  async #pullWithRecovery(signal?: AbortSignal): Promise<PullReport> {
    const attachment = await readAttachment(this.#ctx.db);
    if (!attachment.rebuildRequired) {
      try {
        return await pullToStable(this.#ctx, signal);
      } catch (error) {
        if (!(error instanceof CheckpointRecoveryNeeded)) throw error;
        this.#ctx.logger.info({ reason: error.reason }, 'oversync: checkpoint recovery');
        return this.#checkpointRecovery(signal, error.reason);
      }
    }
    return this.#checkpointRecovery(signal);
  }

  async #checkpointRecovery(
    signal: AbortSignal | undefined,
    reason?: 'history_pruned' | 'checkpoint_ahead',
  ): Promise<PullReport> {
    // Drain local work first so the snapshot does not have to carry it.
    let header = await readOutboxHeader(this.#ctx.db);
    const pending = (await countDirtyRows(this.#ctx.db)) + (await countOutboxRows(this.#ctx.db));
    if (pending > 0 && header.state !== 'committed_remote') {
      this.#setPhase('pushing');
      try {
        await pushPending(this.#ctx, signal);
      } catch (error) {
        const retryable =
          isTransientError(error) ||
          (isOversyncClientError(error) &&
            (error.category === 'auth' ||
              error.code === 'aborted' ||
              error.code === 'network_error'));
        if (isOversyncClientError(error, 'rebuild_required')) {
          // committed replay pruned: the snapshot below stands in for it
        } else if (retryable) {
          throw error;
        } else {
          throw await this.#recoveryBlocked('push_failed', error);
        }
      }
      header = await readOutboxHeader(this.#ctx.db);
      const left = (await countDirtyRows(this.#ctx.db)) + (await countOutboxRows(this.#ctx.db));
      if (left > 0 && header.state !== 'committed_remote') {
        throw await this.#recoveryBlocked('pending_work');
      }
    }
    this.#setPhase('rebuilding');
    const restore = await rebuildFromSnapshot(this.#ctx, {
      mode: header.state === 'committed_remote' ? 'preserve_committed' : 'keep_source',
      ...(signal ? { signal } : {}),
    });
    const status = await readAttachment(this.#ctx.db);
    return {
      outcome: 'applied_snapshot',
      lastBundleSeqSeen: status.lastBundleSeqSeen,
      bundlesApplied: 0,
      rowsApplied: restore.rowCount,
      updatedTables: this.#ctx.schema.tables.map((t) => t.tableName),
      ...(reason ? { recoveryReason: reason } : {}),
    };
  }

  /** Refuses `command` with the typed error of the state machine's guard table. */
  /**
   * Fresh server compatibility before any remote work of a public operation (protocol version,
   * table contract): a server that changed underneath us stops the operation before anything
   * local is frozen or applied.
   */
  async #checkServer(signal?: AbortSignal): Promise<void> {
    const sourceId = (await readAttachment(this.#ctx.db)).currentSourceId;
    const caps = await callRemote(
      this.#ctx,
      () => this.#ctx.remote.capabilities({ sourceId, ...(signal ? { signal } : {}) }),
      signal,
    );
    checkCapabilities(caps, {
      schema: this.#ctx.schema.schema,
      tables: this.#ctx.schema.tables.map((t) => ({
        tableName: t.tableName,
        keyColumn: t.keyColumn,
      })),
    });
  }

  /** The typed blocker of checkpoint recovery, with the counts an app needs to act on it. */
  async #recoveryBlocked(reason: 'push_failed' | 'pending_work', cause?: unknown): Promise<Error> {
    const dirtyRowCount = await countDirtyRows(this.#ctx.db);
    const outboxRowCount = await countOutboxRows(this.#ctx.db);
    const replayState = (await readOutboxHeader(this.#ctx.db)).state;
    const why =
      reason === 'push_failed'
        ? `pending local work could not be pushed (${cause instanceof Error ? cause.message : String(cause)})`
        : `${dirtyRowCount + outboxRowCount} pending rows remain after pushing`;
    return clientError(
      'checkpoint_recovery_blocked',
      `checkpoint recovery is blocked: ${why}`,
      { reason, dirtyRowCount, outboxRowCount, replayState },
      cause,
    );
  }

  async #guard(command: ClientCommand): Promise<ClientState> {
    this.#assertNotClosed();
    let state: ClientState = 'closed';
    if (this.#opened) {
      const attachment = await readAttachment(this.#ctx.db);
      const operation = await readOperation(this.#ctx.db);
      state = deriveClientState({
        opened: true,
        sessionAttached:
          this.#sessionUserId !== undefined && attachment.bindingState === 'attached',
        bindingState: attachment.bindingState,
        operationKind: operation.kind,
        rebuildRequired: attachment.rebuildRequired,
      });
      const guard = COMMAND_GUARDS[state][command];
      if (guard !== 'allow') {
        const reason = operation.kind === 'source_recovery' ? operation.reason : undefined;
        if (
          guard.refuse === 'source_recovery_required' &&
          !(SOURCE_RECOVERY_REASONS as readonly string[]).includes(reason ?? '')
        ) {
          // A reason we do not know cannot be recovered from safely: say so, do not guess.
          throw clientError(
            'invalid_source_recovery_reason',
            `persisted source recovery reason "${reason}" is not one of ${SOURCE_RECOVERY_REASONS.join(', ')}`,
            { state, ...(reason ? { reason } : {}) },
          );
        }
        throw clientError(guard.refuse, `${command} is not allowed while the client is ${state}`, {
          state,
          ...(reason ? { reason } : {}),
        });
      }
      if (
        command === 'pushPending' &&
        attachment.rebuildRequired &&
        (await readOutboxHeader(this.#ctx.db)).state === 'committed_remote'
      ) {
        throw clientError(
          'rebuild_required',
          'a rebuild is required before the committed bundle can be replayed',
          {
            state,
          },
        );
      }
      return state;
    }
    const guard = COMMAND_GUARDS.closed[command];
    if (guard !== 'allow')
      throw clientError(guard.refuse, `${command} needs open() first`, { state });
    return state;
  }

  async #exclusive<T>(
    name: string,
    phase: ClientPhase,
    fn: () => Promise<T>,
    background = false,
  ): Promise<T> {
    // A call from the app waits for a background pull instead of failing: automatic downloads
    // must never make the app's own sync() flaky. Two app calls still fail fast, as before.
    while (this.#busy && this.#busyBackground && !background) await this.#busyDone;
    if (this.#busy) {
      throw clientError(
        'sync_operation_in_progress',
        `${name} refused: ${this.#busy} is in progress on this client`,
        { running: this.#busy },
      );
    }
    this.#busy = name;
    this.#busyBackground = background;
    let release = (): void => undefined;
    this.#busyDone = new Promise<void>((resolve) => {
      release = resolve;
    });
    const previous = this.#phase;
    if (phase !== 'closed') this.#setPhase(phase);
    try {
      return await fn();
    } finally {
      this.#busy = undefined;
      this.#busyBackground = false;
      release();
      if (!this.#closed) {
        this.#setPhase(this.#opened ? 'idle' : previous);
        if (this.#opened) await this.#emitStatus();
      }
    }
  }

  async #emitStatus(): Promise<void> {
    try {
      this.#ctx.events.emit('status', await readSyncStatus(this.#ctx.db));
    } catch (error) {
      this.#ctx.logger.debug({ err: error }, 'oversync: status read failed');
    }
  }

  #setPhase(phase: ClientPhase): void {
    if (phase === this.#phase) return;
    const previous = this.#phase;
    this.#phase = phase;
    this.#ctx.events.emit('phase', { phase, previous });
  }

  #assertNotClosed(): void {
    if (this.#closed) throw clientError('closed', 'the client is closed');
  }
}

/**
 * Creates a client. Nothing touches the database until {@link OversyncClient.open}.
 *
 * @example
 * ```ts
 * import { createOversyncClient } from '@oversync/client';
 * import { createBetterSqlite3Driver } from '@oversync/driver-better-sqlite3';
 *
 * const client = createOversyncClient({
 *   driver: createBetterSqlite3Driver({ filename: 'todo.db' }),
 *   baseUrl: 'http://localhost:8080',
 *   getToken: () => token,
 *   tables: [{ tableName: 'todos', syncKeyColumnName: 'id' }],
 * });
 * ```
 */
export function createOversyncClient(
  options: OversyncClientOptions,
  internals?: { readonly remote?: RemoteApi },
): OversyncClient {
  return new OversyncClient(options, internals?.remote);
}
