/**
 * `409 push_conflict` handling: run the resolver on the conflicting row, apply its decision in
 * one apply-mode transaction, and requeue every sibling row of the rejected bundle so nothing
 * the user wrote is lost. An invalid decision restores the whole frozen bundle to dirty rows and
 * fails closed.
 *
 * @module
 */

import { canonicalJson, PushConflictBodySchema } from '@oversync/protocol';
import * as v from 'valibot';
import type { SqlExecutor } from '../driver/driver.js';
import type { EngineContext } from '../engine-context.js';
import { clientError, isOversyncClientError } from '../errors.js';
import type { ManagedTable } from '../local/local-schema-types.js';
import {
  deleteAppRow,
  deleteDirty,
  deleteRowState,
  requeueDirty,
  requeueFromLive,
  setRowState,
  writeWireRow,
} from '../local/row-writes.js';
import {
  clearOutbox,
  inApplyMode,
  type OutboxRow,
  readOutboxHeader,
  readOutboxRows,
} from '../local/state-store.js';
import {
  localPayloadToWire,
  wireKeyToLocalKeyJson,
  wirePayloadToRow,
} from '../local/value-codec.js';
import type { ConflictContext, ConflictResolution } from './conflict-resolver.js';
import { tableFor } from './replay.js';

/**
 * Resolves a conflict body; returns the app tables changed locally.
 *
 * @example
 * ```ts
 * if (isOversyncClientError(e, 'http_error') && e.details.serverError === 'push_conflict')
 *   changed = await handlePushConflict(ctx, e.details.body);
 * ```
 */
export async function handlePushConflict(ctx: EngineContext, body: unknown): Promise<string[]> {
  const parsed = v.safeParse(PushConflictBodySchema, body);
  if (!parsed.success) {
    throw clientError('protocol_error', 'malformed push_conflict response body', { body });
  }
  const c = parsed.output.conflict;
  if (c.server_row && Object.hasOwn(c.server_row, '_sync_scope_id')) {
    throw clientError(
      'protocol_error',
      'push_conflict server_row exposes the hidden _sync_scope_id column',
    );
  }
  const table = tableFor(ctx, c.schema, c.table);
  const keyJson = wireKeyToLocalKeyJson(table, c.key as Record<string, string>);
  const outbox = await readOutboxRows(ctx.db);
  const mine = outbox.find((r) => r.tableName === table.tableName && r.keyJson === keyJson);
  if (!mine) {
    throw clientError(
      'push_conflict',
      `push conflict on ${c.table} ${canonicalJson(c.key)} not in the bundle`,
      {
        conflict: c,
      },
    );
  }
  if (c.server_row) wirePayloadToRow(table, c.server_row); // validates before any mutation

  const context: ConflictContext = {
    schema: c.schema,
    table: c.table,
    key: c.key as Record<string, string>,
    localOp: mine.op,
    localPayload:
      mine.wirePayload === null ? null : (JSON.parse(mine.wirePayload) as Record<string, unknown>),
    baseRowVersion: mine.baseRowVersion,
    serverRowVersion: c.server_row_version,
    serverRowDeleted: c.server_row_deleted,
    serverRow: c.server_row ?? null,
  };

  let resolution: ConflictResolution | undefined;
  let invalid: string | undefined;
  try {
    resolution = await ctx.resolver(context);
    invalid = invalidReason(resolution, context);
  } catch (error) {
    invalid = `resolver threw: ${error instanceof Error ? error.message : String(error)}`;
  }
  if (resolution && !invalid && resolution.kind === 'keep_merged') {
    try {
      wirePayloadToRow(table, resolution.mergedPayload);
    } catch (error) {
      invalid = isOversyncClientError(error) ? error.message : String(error);
    }
  }

  if (invalid || !resolution) {
    await inApplyMode(ctx.db, async (tx) => {
      await requeueSiblings(tx, ctx, outbox, undefined);
      await releaseOutbox(tx);
    });
    throw clientError('invalid_conflict_resolution', `invalid conflict resolution: ${invalid}`, {
      conflict: c,
    });
  }

  const decided = resolution;
  const changed = new Set<string>();
  await inApplyMode(ctx.db, async (tx) => {
    await applyResolution(tx, table, keyJson, context, mine, decided);
    changed.add(table.tableName);
    await requeueSiblings(tx, ctx, outbox, mine);
    await releaseOutbox(tx);
  });
  const tables = [...changed];
  ctx.events.emit('tablesChanged', { tables, cause: 'conflict' });
  return tables;
}

type ServerState = 'missing' | 'tombstone' | 'live';

function serverState(c: ConflictContext): ServerState {
  if (c.serverRowDeleted) return 'tombstone';
  return c.serverRow ? 'live' : 'missing';
}

function invalidReason(r: ConflictResolution | undefined, c: ConflictContext): string | undefined {
  if (!r || typeof r !== 'object') return 'resolver returned no resolution';
  if (r.kind === 'accept_server') return undefined;
  if (r.kind !== 'keep_local' && r.kind !== 'keep_merged')
    return `unknown resolution ${String((r as { kind: unknown }).kind)}`;
  const state = serverState(c);
  if (c.localOp === 'DELETE' && r.kind === 'keep_merged')
    return 'keep_merged is not allowed for a DELETE';
  if (c.localOp === 'UPDATE' && state !== 'live') {
    return `${r.kind} on an UPDATE of a row the server no longer has (${state}) is not allowed`;
  }
  if (c.localOp === 'INSERT' && state === 'missing') {
    return `${r.kind} on an INSERT conflict without a server row is not allowed`;
  }
  if (
    r.kind === 'keep_merged' &&
    (typeof r.mergedPayload !== 'object' || r.mergedPayload === null)
  ) {
    return 'keep_merged needs a merged payload object';
  }
  return undefined;
}

async function applyResolution(
  tx: SqlExecutor,
  table: ManagedTable,
  keyJson: string,
  c: ConflictContext,
  mine: OutboxRow,
  r: ConflictResolution,
): Promise<void> {
  const state = serverState(c);
  const v = c.serverRowVersion;
  await deleteDirty(tx, table, keyJson);
  if (r.kind === 'accept_server') {
    if (state === 'live' && c.serverRow) {
      await writeWireRow(tx, table, c.serverRow);
      await setRowState(tx, table, keyJson, v, false);
    } else {
      await deleteAppRow(tx, table, keyJson);
      if (state === 'missing') await deleteRowState(tx, table, keyJson);
      else await setRowState(tx, table, keyJson, v, true);
    }
    return;
  }
  if (mine.op === 'DELETE') {
    await deleteAppRow(tx, table, keyJson);
    if (state === 'missing') {
      await deleteRowState(tx, table, keyJson);
    } else if (state === 'tombstone') {
      await setRowState(tx, table, keyJson, v, true);
    } else {
      await setRowState(tx, table, keyJson, v, false);
      await requeueDirty(tx, table, keyJson, 'DELETE', v, null);
    }
    return;
  }
  const payload =
    r.kind === 'keep_merged'
      ? r.mergedPayload
      : mine.localPayload === null
        ? null
        : localPayloadToWire(table, mine.localPayload);
  if (!payload) throw clientError('invalid_conflict_resolution', 'no local payload to keep');
  await writeWireRow(tx, table, payload);
  await setRowState(tx, table, keyJson, v, state !== 'live');
  await requeueFromLive(tx, table, keyJson, v, state === 'live');
}

/**
 * Puts the frozen rows (except the resolved one) back into dirty rows. A key the app changed
 * again after the freeze is already dirty with newer intent and the same base: keep that.
 */
async function requeueSiblings(
  tx: SqlExecutor,
  ctx: EngineContext,
  outbox: readonly OutboxRow[],
  except: OutboxRow | undefined,
): Promise<void> {
  for (const row of outbox) {
    if (except && row.rowOrdinal === except.rowOrdinal) continue;
    const table = tableFor(ctx, row.schemaName, row.tableName);
    const existing = await tx.get(
      'SELECT 1 AS x FROM _sync_dirty_rows WHERE schema_name = ? AND table_name = ? AND key_json = ?',
      [row.schemaName, row.tableName, row.keyJson],
    );
    if (existing) continue;
    await requeueDirty(tx, table, row.keyJson, row.op, row.baseRowVersion, row.localPayload);
  }
}

/**
 * Clears a rejected outbox and hands its `source_bundle_id` back: the server committed nothing
 * under it, so the next bundle of this source must reuse it (the server expects the sequence
 * without gaps — e.g. after a source rotation retargeted the preserved bundle to id 1).
 */
async function releaseOutbox(tx: SqlExecutor): Promise<void> {
  const header = await readOutboxHeader(tx);
  if (header.state === 'prepared' && header.sourceId !== '' && header.sourceBundleId > 0) {
    await tx.run('UPDATE _sync_source_state SET next_source_bundle_id = ? WHERE source_id = ?', [
      header.sourceBundleId,
      header.sourceId,
    ]);
  }
  await clearOutbox(tx);
}
