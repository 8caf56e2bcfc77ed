/**
 * Push: freeze → create session → upload chunks → commit → fetch the committed copy → replay.
 * Every step is durable so a process killed anywhere resumes without loss or duplication:
 * a `prepared` outbox is re-sent under the same `(source_id, source_bundle_id)` (the server
 * answers `already_committed` if it had committed it), a `committed_remote` outbox skips straight
 * to fetch + replay.
 *
 * @module
 */

import type { CommittedBundleRowsResponse, PushRow } from '@oversync/protocol';
import type { EngineContext } from '../engine-context.js';
import { clientError, isOversyncClientError } from '../errors.js';
import {
  enterSourceRecovery,
  resetForInvalidInitializationLease,
} from '../lifecycle/source-recovery.js';
import {
  countDirtyRows,
  readOutboxHeader,
  readOutboxRows,
  updateAttachment,
} from '../local/state-store.js';
import { callRemote } from '../remote/call.js';
import type { RequestContext } from '../remote/remote-api.js';
import {
  validateCommittedBundleChunk,
  verifyCommittedBundleHash,
} from '../remote/validate-responses.js';
import { handlePushConflict } from './conflict.js';
import { freezeOutbox } from './freeze.js';
import { replayCommittedBundle } from './replay.js';

/**
 * Result of `pushPending`.
 *
 * @example
 * ```ts
 * const report = await client.pushPending();
 * if (report.outcome === 'committed') console.log(report.bundleSeq, report.rowCount);
 * ```
 */
export interface PushReport {
  readonly outcome: 'no_change' | 'committed';
  /** Server bundle sequence of the last committed bundle (when committed). */
  readonly bundleSeq?: number;
  /** Rows pushed in the last committed bundle. */
  readonly rowCount: number;
  /** Conflicts resolved on the way. */
  readonly conflictsResolved: number;
  /** App tables changed locally by replay or conflict resolution. */
  readonly updatedTables: readonly string[];
}

const SOURCE_RECOVERY_CODES = new Set([
  'source_sequence_out_of_order',
  'source_sequence_changed',
  'source_retired',
]);

/**
 * Pushes one bundle with conflict handling: the persisted outbox when there is one (resumed
 * where it stopped), otherwise the dirty rows frozen now. Dirty rows left after a committed
 * replay wait for the next call; after a resolved conflict the requeued rows are retried here,
 * up to `maxConflictRetries` times. The caller holds the operation lock and has checked the
 * lifecycle preconditions.
 *
 * @example
 * ```ts
 * const { outcome, conflictsResolved } = await pushPending(ctx, signal);
 * ```
 */
export async function pushPending(ctx: EngineContext, signal?: AbortSignal): Promise<PushReport> {
  const updated = new Set<string>();
  let conflicts = 0;
  let last: { bundleSeq: number; rowCount: number } | undefined;
  for (let attempt = 0; ; attempt++) {
    const outcome = await pushOnce(ctx, updated, signal);
    if (outcome.kind === 'committed') {
      // One bundle per call, as the reference runtimes do (push/behavior/apply.json
      // `committed-replay-preserves-newer-local-delete`): intent requeued by the replay, or
      // written while this bundle was in flight, goes in the next push.
      last = outcome;
      break;
    }
    if (outcome.kind === 'no_change') break;
    // Conflict resolved: retry within the budget.
    conflicts++;
    if ((await countDirtyRows(ctx.db)) === 0) break;
    if (conflicts > ctx.maxConflictRetries) {
      throw clientError(
        'push_conflict_retry_exhausted',
        `push conflicts persisted after ${ctx.maxConflictRetries} automatic retries`,
        { retryCount: ctx.maxConflictRetries, remainingDirtyCount: await countDirtyRows(ctx.db) },
      );
    }
    if (attempt > 1000) break;
  }
  const tables = [...updated].sort();
  if (tables.length > 0) ctx.events.emit('tablesChanged', { tables, cause: 'push_replay' });
  return {
    outcome: last ? 'committed' : 'no_change',
    ...(last ? { bundleSeq: last.bundleSeq } : {}),
    rowCount: last?.rowCount ?? 0,
    conflictsResolved: conflicts,
    updatedTables: tables,
  };
}

type PushOnceOutcome =
  | { kind: 'no_change' }
  | { kind: 'conflict_resolved' }
  | { kind: 'committed'; bundleSeq: number; rowCount: number };

async function pushOnce(
  ctx: EngineContext,
  updated: Set<string>,
  signal?: AbortSignal,
): Promise<PushOnceOutcome> {
  let header = await readOutboxHeader(ctx.db);
  if (header.state === 'none') {
    const frozen = await ctx.db.transaction((tx) => freezeOutbox(tx, ctx.schema));
    if (frozen.rowCount === 0) return { kind: 'no_change' };
    header = await readOutboxHeader(ctx.db);
  }
  const req: RequestContext = { sourceId: header.sourceId, ...(signal ? { signal } : {}) };

  if (header.state === 'prepared') {
    const committed = await uploadPrepared(ctx, req, updated, signal);
    if (committed === 'conflict_resolved') return { kind: 'conflict_resolved' };
    header = await readOutboxHeader(ctx.db);
  }
  if (header.state !== 'committed_remote') {
    throw new Error(`unexpected outbox state ${header.state}`);
  }
  const rows = await fetchCommittedRows(ctx, req, header, signal);
  const tables = await replayCommittedBundle(ctx, header, rows);
  for (const t of tables) updated.add(t);
  return { kind: 'committed', bundleSeq: header.remoteBundleSeq, rowCount: header.rowCount };
}

/** Sends a prepared outbox; ends with the outbox `committed_remote`, or a resolved conflict. */
async function uploadPrepared(
  ctx: EngineContext,
  req: RequestContext,
  updated: Set<string>,
  signal?: AbortSignal,
): Promise<'committed' | 'conflict_resolved'> {
  const header = await readOutboxHeader(ctx.db);
  const rows = await readOutboxRows(ctx.db);
  if (
    rows.length !== header.rowCount ||
    rows.some((r) => r.sourceBundleId !== header.sourceBundleId)
  ) {
    throw clientError(
      'protocol_error',
      'the durable outbox is inconsistent (row count or bundle id)',
    );
  }
  const wireRows: PushRow[] = rows.map((r) => ({
    schema: r.schemaName,
    table: r.tableName,
    key: JSON.parse(r.wireKeyJson) as Record<string, string>,
    op: r.op,
    base_row_version: r.baseRowVersion,
    ...(r.op === 'DELETE'
      ? {}
      : { payload: JSON.parse(r.wirePayload ?? 'null') as Record<string, unknown> }),
  })) as PushRow[];

  let pushId: string | undefined;
  try {
    const created = await callRemote(
      ctx,
      () =>
        ctx.remote.createPushSession(req, {
          source_bundle_id: header.sourceBundleId,
          planned_row_count: header.rowCount,
          canonical_request_hash: header.canonicalRequestHash,
          ...(header.initializationId ? { initialization_id: header.initializationId } : {}),
        }),
      signal,
    );
    if (created.status === 'already_committed') {
      if (created.canonical_request_hash !== header.canonicalRequestHash) {
        throw clientError(
          'source_sequence_mismatch',
          `server already committed source bundle ${header.sourceBundleId} with a different canonical request hash`,
          { local: header.canonicalRequestHash, remote: created.canonical_request_hash },
        );
      }
      await markCommitted(ctx, created.bundle_seq, created.bundle_hash);
      return 'committed';
    }
    pushId = created.push_id;
    let next = created.next_expected_row_ordinal;
    let sentBytes = 0;
    for (let start = next; start < wireRows.length; start += ctx.limits.uploadRows) {
      const chunk = wireRows.slice(start, start + ctx.limits.uploadRows);
      const id = pushId;
      const res = await callRemote(
        ctx,
        () => ctx.remote.uploadPushChunk(req, id, { start_row_ordinal: start, rows: chunk }),
        signal,
      );
      next = res.next_expected_row_ordinal;
      if (next !== start + chunk.length) {
        throw clientError(
          'protocol_error',
          `push chunk response next_expected_row_ordinal ${next} does not match ${start + chunk.length}`,
        );
      }
      sentBytes += JSON.stringify(chunk).length;
      ctx.events.emit('progress', {
        operation: 'push',
        rows: next,
        totalRows: wireRows.length,
        bytes: sentBytes,
      });
    }
    const id = pushId;
    const commit = await callRemote(ctx, () => ctx.remote.commitPushSession(req, id), signal);
    if (commit.canonical_request_hash !== header.canonicalRequestHash) {
      throw clientError(
        'source_sequence_mismatch',
        'commit echoed a different canonical request hash',
        {
          local: header.canonicalRequestHash,
          remote: commit.canonical_request_hash,
        },
      );
    }
    if (commit.source_bundle_id !== header.sourceBundleId || commit.row_count !== header.rowCount) {
      throw clientError('protocol_error', 'commit response does not describe the uploaded bundle');
    }
    await markCommitted(ctx, commit.bundle_seq, commit.bundle_hash);
    return 'committed';
  } catch (error) {
    if (pushId !== undefined) {
      const id = pushId;
      await ctx.remote.deletePushSession({ sourceId: req.sourceId }, id).catch(() => undefined);
    }
    return await classifyPushError(ctx, error, updated);
  }
}

async function markCommitted(
  ctx: EngineContext,
  bundleSeq: number,
  bundleHash: string,
): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    await tx.run(
      `UPDATE _sync_outbox_bundle SET state = 'committed_remote', remote_bundle_seq = ?, remote_bundle_hash = ?
       WHERE singleton_key = 1`,
      [bundleSeq, bundleHash],
    );
    // The seed lease is consumed by the first commit.
    await updateAttachment(tx, { pendingInitializationId: '' });
  });
}

async function classifyPushError(
  ctx: EngineContext,
  error: unknown,
  updated: Set<string>,
): Promise<'conflict_resolved'> {
  if (!isOversyncClientError(error) || error.code !== 'http_error') throw error;
  const code = error.details.serverError;
  if (code === 'push_conflict') {
    const tables = await handlePushConflict(ctx, error.details.body);
    for (const t of tables) updated.add(t);
    return 'conflict_resolved';
  }
  if (code === 'history_pruned') {
    await enterSourceRecovery(ctx, 'history_pruned');
    throw clientError(
      'source_recovery_required',
      'source recovery required: history_pruned',
      {
        reason: 'history_pruned',
        status: error.details.status,
      },
      error,
    );
  }
  if (code && SOURCE_RECOVERY_CODES.has(code)) {
    const body = error.details.body as { replaced_by_source_id?: unknown } | undefined;
    const suggested =
      typeof body?.replaced_by_source_id === 'string' && body.replaced_by_source_id !== ''
        ? body.replaced_by_source_id
        : undefined;
    await enterSourceRecovery(ctx, code, suggested);
    throw clientError(
      'source_recovery_required',
      `source recovery required: ${code}`,
      {
        reason: code,
        status: error.details.status,
      },
      error,
    );
  }
  if (code === 'initialization_expired' || code === 'initialization_stale') {
    await resetForInvalidInitializationLease(ctx);
    throw clientError(
      'initialization_lease_invalid',
      `initialization lease rejected: ${code}; attach again`,
      {
        reason: code,
        status: error.details.status,
      },
      error,
    );
  }
  throw error;
}

/** Pages through `GET /sync/committed-bundles/{seq}/rows` and verifies the bundle hash. */
async function fetchCommittedRows(
  ctx: EngineContext,
  req: RequestContext,
  header: Awaited<ReturnType<typeof readOutboxHeader>>,
  signal?: AbortSignal,
): Promise<CommittedBundleRowsResponse['rows']> {
  const rows: CommittedBundleRowsResponse['rows'] = [];
  let after: number | undefined;
  for (;;) {
    let page: CommittedBundleRowsResponse | undefined;
    for (let attempt = 0, delay = 75; ; attempt++, delay = Math.min(delay * 2, 600)) {
      try {
        const afterRowOrdinal = after;
        page = await callRemote(
          ctx,
          () =>
            ctx.remote.committedBundleRows(req, header.remoteBundleSeq, {
              ...(afterRowOrdinal === undefined ? {} : { afterRowOrdinal }),
              maxRows: ctx.limits.downloadBundles,
            }),
          signal,
        );
        break;
      } catch (error) {
        if (isOversyncClientError(error, 'http_error')) {
          const code = error.details.serverError;
          // The committed bundle may not be visible yet right after commit.
          if (code === 'committed_bundle_not_found' && attempt < 5) {
            await ctx.sleep(delay, signal);
            continue;
          }
          if (code === 'history_pruned') {
            await ctx.db.transaction((tx) => updateAttachment(tx, { rebuildRequired: true }));
            throw clientError(
              'rebuild_required',
              'the committed bundle is no longer retained by the server; a snapshot rebuild will restore state',
              { reason: 'committed_replay_pruned', bundleSeq: header.remoteBundleSeq },
              error,
            );
          }
        }
        throw error;
      }
    }
    if (page.canonical_request_hash !== header.canonicalRequestHash) {
      // The server committed something else under our tuple: only a rebuild can tell what.
      await ctx.db.transaction((tx) => updateAttachment(tx, { rebuildRequired: true }));
      throw clientError(
        'rebuild_required',
        'the committed bundle carries a different canonical request hash than our outbox',
        {
          reason: 'committed_request_hash_mismatch',
          local: header.canonicalRequestHash,
          remote: page.canonical_request_hash,
        },
      );
    }
    validateCommittedBundleChunk(page, {
      bundleSeq: header.remoteBundleSeq,
      sourceId: header.sourceId,
      sourceBundleId: header.sourceBundleId,
      rowCount: header.rowCount,
      bundleHash: header.remoteBundleHash,
      canonicalRequestHash: header.canonicalRequestHash,
      afterRowOrdinal: after ?? -1,
    });
    rows.push(...page.rows);
    if (!page.has_more) break;
    after = page.next_row_ordinal;
  }
  if (rows.length !== header.rowCount) {
    throw clientError(
      'protocol_error',
      `committed bundle has ${rows.length} rows, expected ${header.rowCount}`,
    );
  }
  await verifyCommittedBundleHash(rows, header.remoteBundleHash);
  return rows;
}
