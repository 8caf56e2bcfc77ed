import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';

/** Thrown by {@link acquireLock} when a live process holds the lock. */
export class LockHeldError extends Error {
  override readonly name = 'LockHeldError';
  constructor(
    readonly path: string,
    readonly pid: number,
    message = `${path} is held by the running process ${pid}`,
  ) {
    super(message);
  }
}

/** A lock taken by {@link acquireLock}. */
export interface LockHandle {
  readonly path: string;
  /** Removes the lock file if it still holds our pid. Idempotent; safe in an `exit` handler. */
  release(): void;
}

const MAX_ATTEMPTS = 5;

/**
 * Takes the lock file at `path` by creating it exclusively with our pid. A lock whose pid is not
 * a running process (or is unreadable) is stale and taken over; a lock held by a live process —
 * including this one — is refused with {@link LockHeldError}.
 */
export function acquireLock(path: string, pid: number = process.pid): LockHandle {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (tryCreate(path, pid)) return handle(path, pid);
    const owner = readLockOwner(path);
    if (owner !== null && isProcessAlive(owner)) throw new LockHeldError(path, owner);
    removeIfUnchanged(path, owner);
  }
  throw new Error(`could not take the lock ${path}: it keeps changing`);
}

/** The pid written in the lock file, or `null` when there is no (readable) lock. */
export function readLockOwner(path: string): number | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return null;
  }
  const pid = Number(text.trim());
  return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
}

/** The pid of the live process holding the lock at `path`, or `null` when it is free or stale. */
export function lockHolder(path: string): number | null {
  const owner = readLockOwner(path);
  return owner !== null && isProcessAlive(owner) ? owner : null;
}

/** Whether a process with this pid exists (EPERM means it exists but belongs to someone else). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function tryCreate(path: string, pid: number): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o644);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    writeSync(fd, `${pid}\n`);
  } finally {
    closeSync(fd);
  }
  return true;
}

function removeIfUnchanged(path: string, expectedOwner: number | null): void {
  // Re-read just before removing to narrow the window in which another process takes it over.
  if (readLockOwner(path) !== expectedOwner) return;
  try {
    unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

function handle(path: string, pid: number): LockHandle {
  let released = false;
  return {
    path,
    release() {
      if (released) return;
      released = true;
      if (readLockOwner(path) !== pid) return;
      try {
        unlinkSync(path);
      } catch {
        // Already gone.
      }
    },
  };
}
