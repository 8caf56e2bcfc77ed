import { SyncError } from '@oversync/protocol';
import { SCOPE_INITIALIZING, SCOPE_UNINITIALIZED, type UserState } from './user-state.js';

/** Pull, snapshot and watch need an initialized scope. */
export function requireInitialized(user: UserState | null): asserts user is UserState {
  if (!user || user.scopeState === SCOPE_UNINITIALIZED) {
    throw new SyncError(
      'scope_uninitialized',
      'scope is not initialized; call POST /sync/connect first',
    );
  }
  if (user.scopeState === SCOPE_INITIALIZING) {
    throw new SyncError('scope_initializing', 'scope initialization is in progress');
  }
}
