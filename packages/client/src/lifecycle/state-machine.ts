/**
 * The client's lifecycle state machine, spec first: the states, which public commands each
 * state admits (and the typed error it refuses with otherwise), and the transitions the
 * workflows cause. `docs/client.md` renders the same tables; the tests walk them exhaustively.
 *
 * The state is derived, never stored: from the durable `_sync_*` rows plus whether this process
 * opened the database and attached a user session.
 *
 * @module
 */

import type { ClientErrorCode } from '../errors.js';

/**
 * Lifecycle states.
 *
 * @example
 * ```ts
 * const state: ClientState = deriveClientState(facts);
 * if (state === 'source_recovery') await client.rebuild();
 * ```
 */
export type ClientState =
  /** Not opened yet in this process, or closed. */
  | 'closed'
  /** Opened; no user bound (local writes are captured and will seed or be replaced at attach). */
  | 'anonymous'
  /** Bound to a user durably, but this process has not called `attach` yet (resume is local). */
  | 'attached_idle'
  /** Attached in this process; push/pull/sync allowed. */
  | 'ready'
  /** Attached; the checkpoint must be rebuilt from a snapshot (pull/sync recover automatically). */
  | 'rebuild_required'
  /** Attached; the server refused our writer identity: only `rebuild()` (rotating the source) helps. */
  | 'source_recovery'
  /** An attach is replacing local data with the server state; finish it with `attach(sameUser)`. */
  | 'remote_replace_pending';

/**
 * Public commands that depend on the state.
 *
 * @example
 * ```ts
 * const command: ClientCommand = 'pushPending';
 * const guard = COMMAND_GUARDS[state][command];
 * ```
 */
export type ClientCommand =
  | 'open'
  | 'attach'
  | 'pushPending'
  | 'pullToStable'
  | 'sync'
  | 'rebuild'
  | 'detach'
  | 'syncThenDetach'
  | 'startAutomaticDownloads'
  | 'status';

/**
 * What a state does with a command: run it, or refuse with a typed error code.
 *
 * @example
 * ```ts
 * const guard: CommandGuard = COMMAND_GUARDS[state].sync;
 * if (guard !== 'allow') throw clientError(guard.refuse, `sync is not allowed in ${state}`);
 * ```
 */
export type CommandGuard = 'allow' | { readonly refuse: ClientErrorCode };

const allow = 'allow' as const;
const refuse = (code: ClientErrorCode): CommandGuard => ({ refuse: code });

/**
 * The guard table: every state × every command.
 *
 * @example
 * ```ts
 * COMMAND_GUARDS.anonymous.pushPending; // { refuse: 'attach_required' }
 * ```
 */
export const COMMAND_GUARDS: Readonly<
  Record<ClientState, Readonly<Record<ClientCommand, CommandGuard>>>
> = {
  closed: {
    open: allow,
    attach: refuse('open_required'),
    pushPending: refuse('open_required'),
    pullToStable: refuse('open_required'),
    sync: refuse('open_required'),
    rebuild: refuse('open_required'),
    detach: refuse('open_required'),
    syncThenDetach: refuse('open_required'),
    startAutomaticDownloads: refuse('open_required'),
    status: refuse('open_required'),
  },
  anonymous: {
    open: allow,
    attach: allow,
    pushPending: refuse('attach_required'),
    pullToStable: refuse('attach_required'),
    sync: refuse('attach_required'),
    rebuild: refuse('attach_required'),
    detach: allow,
    syncThenDetach: refuse('attach_required'),
    startAutomaticDownloads: refuse('attach_required'),
    status: allow,
  },
  attached_idle: {
    open: allow,
    attach: allow,
    pushPending: refuse('attach_required'),
    pullToStable: refuse('attach_required'),
    sync: refuse('attach_required'),
    rebuild: refuse('attach_required'),
    detach: allow,
    syncThenDetach: refuse('attach_required'),
    startAutomaticDownloads: refuse('attach_required'),
    status: allow,
  },
  ready: {
    open: allow,
    attach: allow,
    pushPending: allow,
    pullToStable: allow,
    sync: allow,
    rebuild: allow,
    detach: allow,
    syncThenDetach: allow,
    startAutomaticDownloads: allow,
    status: allow,
  },
  rebuild_required: {
    open: allow,
    attach: allow,
    pushPending: allow,
    pullToStable: allow,
    sync: allow,
    rebuild: allow,
    detach: allow,
    syncThenDetach: allow,
    startAutomaticDownloads: allow,
    status: allow,
  },
  source_recovery: {
    open: allow,
    attach: allow,
    pushPending: refuse('source_recovery_required'),
    pullToStable: refuse('source_recovery_required'),
    sync: refuse('source_recovery_required'),
    rebuild: allow,
    detach: allow,
    syncThenDetach: refuse('source_recovery_required'),
    startAutomaticDownloads: allow,
    status: allow,
  },
  remote_replace_pending: {
    open: allow,
    attach: allow,
    pushPending: refuse('remote_replace_pending'),
    pullToStable: refuse('remote_replace_pending'),
    sync: refuse('remote_replace_pending'),
    rebuild: refuse('remote_replace_pending'),
    detach: allow,
    syncThenDetach: refuse('remote_replace_pending'),
    startAutomaticDownloads: refuse('attach_required'),
    status: allow,
  },
};

/**
 * Facts the state is derived from.
 *
 * @example
 * ```ts
 * const facts: StateFacts = {
 *   opened: true, sessionAttached: false, bindingState: 'attached',
 *   operationKind: 'none', rebuildRequired: false,
 * };
 * ```
 */
export interface StateFacts {
  readonly opened: boolean;
  readonly sessionAttached: boolean;
  readonly bindingState: 'anonymous' | 'attached';
  readonly operationKind: 'none' | 'remote_replace' | 'source_recovery';
  readonly rebuildRequired: boolean;
}

/**
 * Derives the lifecycle state.
 *
 * @example
 * ```ts
 * const state = deriveClientState({ ...facts, sessionAttached: true }); // 'ready'
 * ```
 */
export function deriveClientState(f: StateFacts): ClientState {
  if (!f.opened) return 'closed';
  if (f.operationKind === 'remote_replace') return 'remote_replace_pending';
  if (f.bindingState === 'anonymous') return 'anonymous';
  if (!f.sessionAttached) return 'attached_idle';
  if (f.operationKind === 'source_recovery') return 'source_recovery';
  return f.rebuildRequired ? 'rebuild_required' : 'ready';
}

/**
 * Events that move the state (results of workflows).
 *
 * @example
 * ```ts
 * const event: ClientEvent = 'push_source_rejected';
 * const next = TRANSITIONS.ready[event]; // 'source_recovery'
 * ```
 */
export type ClientEvent =
  | 'opened'
  | 'attach_connected'
  | 'attach_retry_later'
  | 'attach_remote_replace_interrupted'
  | 'push_committed'
  | 'push_source_rejected'
  | 'push_committed_replay_lost'
  | 'pull_applied'
  | 'pull_checkpoint_unavailable'
  | 'rebuild_applied'
  | 'detached'
  | 'detach_blocked'
  | 'closed';

/**
 * The transition table: state × event → next state (`null`: the event cannot occur there).
 *
 * @example
 * ```ts
 * TRANSITIONS.ready.pull_checkpoint_unavailable; // 'rebuild_required'
 * ```
 */
export const TRANSITIONS: Readonly<
  Record<ClientState, Readonly<Record<ClientEvent, ClientState | null>>>
> = {
  closed: {
    opened: 'anonymous', // or attached_idle / remote_replace_pending, derived from durable rows
    attach_connected: null,
    attach_retry_later: null,
    attach_remote_replace_interrupted: null,
    push_committed: null,
    push_source_rejected: null,
    push_committed_replay_lost: null,
    pull_applied: null,
    pull_checkpoint_unavailable: null,
    rebuild_applied: null,
    detached: null,
    detach_blocked: null,
    closed: 'closed',
  },
  anonymous: {
    opened: 'anonymous',
    attach_connected: 'ready',
    attach_retry_later: 'anonymous',
    attach_remote_replace_interrupted: 'remote_replace_pending',
    push_committed: null,
    push_source_rejected: null,
    push_committed_replay_lost: null,
    pull_applied: null,
    pull_checkpoint_unavailable: null,
    rebuild_applied: null,
    detached: 'anonymous',
    detach_blocked: null,
    closed: 'closed',
  },
  attached_idle: {
    opened: 'attached_idle',
    attach_connected: 'ready',
    attach_retry_later: null,
    attach_remote_replace_interrupted: null,
    push_committed: null,
    push_source_rejected: null,
    push_committed_replay_lost: null,
    pull_applied: null,
    pull_checkpoint_unavailable: null,
    rebuild_applied: null,
    detached: 'anonymous',
    detach_blocked: 'attached_idle',
    closed: 'closed',
  },
  ready: {
    opened: 'attached_idle',
    attach_connected: 'ready',
    attach_retry_later: null,
    attach_remote_replace_interrupted: null,
    push_committed: 'ready',
    push_source_rejected: 'source_recovery',
    push_committed_replay_lost: 'rebuild_required',
    pull_applied: 'ready',
    pull_checkpoint_unavailable: 'rebuild_required',
    rebuild_applied: 'ready',
    detached: 'anonymous',
    detach_blocked: 'ready',
    closed: 'closed',
  },
  rebuild_required: {
    opened: 'attached_idle',
    attach_connected: 'rebuild_required',
    attach_retry_later: null,
    attach_remote_replace_interrupted: null,
    push_committed: 'rebuild_required',
    push_source_rejected: 'source_recovery',
    push_committed_replay_lost: 'rebuild_required',
    pull_applied: 'ready', // a pull in this state is the checkpoint recovery (snapshot)
    pull_checkpoint_unavailable: 'rebuild_required',
    rebuild_applied: 'ready',
    detached: 'anonymous',
    detach_blocked: 'rebuild_required',
    closed: 'closed',
  },
  source_recovery: {
    opened: 'attached_idle',
    attach_connected: 'source_recovery',
    attach_retry_later: null,
    attach_remote_replace_interrupted: null,
    push_committed: null,
    push_source_rejected: null,
    push_committed_replay_lost: null,
    pull_applied: null,
    pull_checkpoint_unavailable: null,
    rebuild_applied: 'ready',
    detached: 'anonymous',
    detach_blocked: 'source_recovery',
    closed: 'closed',
  },
  remote_replace_pending: {
    opened: 'remote_replace_pending',
    attach_connected: 'ready',
    attach_retry_later: null,
    attach_remote_replace_interrupted: 'remote_replace_pending',
    push_committed: null,
    push_source_rejected: null,
    push_committed_replay_lost: null,
    pull_applied: null,
    pull_checkpoint_unavailable: null,
    rebuild_applied: null,
    detached: 'anonymous',
    detach_blocked: null,
    closed: 'closed',
  },
};

/**
 * Every state, for exhaustive iteration.
 *
 * @example
 * ```ts
 * for (const state of CLIENT_STATES) console.log(state, COMMAND_GUARDS[state].sync);
 * ```
 */
export const CLIENT_STATES = Object.keys(COMMAND_GUARDS) as ClientState[];
/**
 * Every guarded command.
 *
 * @example
 * ```ts
 * const allowed = CLIENT_COMMANDS.filter((c) => COMMAND_GUARDS.anonymous[c] === 'allow');
 * ```
 */
export const CLIENT_COMMANDS = Object.keys(COMMAND_GUARDS.ready) as ClientCommand[];
/**
 * Every event.
 *
 * @example
 * ```ts
 * const possible = CLIENT_EVENTS.filter((e) => TRANSITIONS.ready[e] !== null);
 * ```
 */
export const CLIENT_EVENTS = Object.keys(TRANSITIONS.ready) as ClientEvent[];
