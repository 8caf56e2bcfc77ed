import type { SyncStatus } from '../lifecycle/status.js';

/**
 * Typed events of the client: status changes, transfer progress, and the app tables changed by
 * each authoritative apply (drive live queries from these).
 *
 * @module
 */

/**
 * Which phase the client is in (see docs/client.md for the state machine).
 *
 * @example
 * ```ts
 * client.on('phase', ({ phase, previous }) => console.log(`${previous} -> ${phase}`));
 * ```
 */
export type ClientPhase =
  | 'closed'
  | 'idle'
  | 'attaching'
  | 'pushing'
  | 'pulling'
  | 'rebuilding'
  | 'detaching';

/**
 * Progress of a transfer. `total*` are known for pushes and snapshots.
 *
 * @example
 * ```ts
 * client.on('progress', (e) => setProgress(e.totalRows ? e.rows / e.totalRows : 0));
 * ```
 */
export interface ProgressEvent {
  readonly operation: 'push' | 'pull' | 'snapshot' | 'apply_snapshot';
  readonly rows: number;
  readonly totalRows?: number;
  readonly bytes: number;
  readonly totalBytes?: number;
}

/**
 * App tables whose rows were changed by sync (never fired for metadata-only changes).
 *
 * @example
 * ```ts
 * client.on('tablesChanged', ({ tables, cause }) => { if (tables.includes('todos')) reloadTodos(cause); });
 * ```
 */
export interface TablesChangedEvent {
  readonly tables: readonly string[];
  readonly cause: 'pull' | 'snapshot' | 'push_replay' | 'conflict' | 'detach';
}

/**
 * The event map.
 *
 * @example
 * ```ts
 * client.on('error', ({ error, during }) => logger.warn({ err: error }, during));
 * ```
 */
export interface ClientEvents {
  phase: { readonly phase: ClientPhase; readonly previous: ClientPhase };
  progress: ProgressEvent;
  tablesChanged: TablesChangedEvent;
  /** Status after every operation (pending rows, checkpoint, binding, authority). */
  status: SyncStatus;
  /** Errors of background work (automatic downloads); foreground calls reject instead. */
  error: { readonly error: unknown; readonly during: string };
}

/**
 * A listener of one event.
 *
 * @example
 * ```ts
 * const onStatus: ClientListener<'status'> = (s) => render(s.pending.pendingRowCount);
 * client.on('status', onStatus);
 * ```
 */
export type ClientListener<K extends keyof ClientEvents> = (event: ClientEvents[K]) => void;

/**
 * Minimal synchronous typed emitter. A throwing listener never breaks sync: its error is
 * swallowed (and reported through `onListenerError`).
 *
 * @example
 * ```ts
 * const off = client.on('tablesChanged', (e) => refresh(e.tables));
 * off();
 * ```
 */
export class ClientEventEmitter {
  readonly #listeners = new Map<keyof ClientEvents, Set<(event: never) => void>>();
  readonly #onListenerError: (error: unknown) => void;

  constructor(onListenerError: (error: unknown) => void = () => undefined) {
    this.#onListenerError = onListenerError;
  }

  /** Subscribes; returns the unsubscribe function. */
  on<K extends keyof ClientEvents>(name: K, listener: ClientListener<K>): () => void {
    let set = this.#listeners.get(name);
    if (!set) {
      set = new Set();
      this.#listeners.set(name, set);
    }
    set.add(listener as (event: never) => void);
    return () => {
      set.delete(listener as (event: never) => void);
    };
  }

  /** Emits to every listener of `name`. */
  emit<K extends keyof ClientEvents>(name: K, event: ClientEvents[K]): void {
    const set = this.#listeners.get(name);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        (listener as ClientListener<K>)(event);
      } catch (error) {
        this.#onListenerError(error);
      }
    }
  }
}
