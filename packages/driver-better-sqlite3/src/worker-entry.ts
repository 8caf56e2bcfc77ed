/**
 * The worker thread of worker mode: owns one better-sqlite3 connection and answers
 * {@link WorkerRequest}s in the order they arrive. Started by `createWorkerDriver`; not an API.
 *
 * @module
 */

import { parentPort, workerData } from 'node:worker_threads';
import type { SqlRow, SqlValue } from '@oversync/client';
import { type BetterSqlite3Connection, openBetterSqlite3Connection } from './sync-connection.js';
import { toWireError } from './wire-error.js';
import type { WorkerInit, WorkerRequest, WorkerResponse } from './worker-protocol.js';

// A view over part of a larger ArrayBuffer would clone the whole buffer; copy such views to an
// exactly sized one. better-sqlite3's own BLOBs are already exact, so this rarely copies.
function exact(value: SqlValue): SqlValue {
  if (
    value instanceof Uint8Array &&
    (value.byteOffset !== 0 || value.byteLength !== value.buffer.byteLength)
  ) {
    return value.slice();
  }
  return value;
}

function exactRow(row: SqlRow): SqlRow {
  for (const key in row) row[key] = exact(row[key] as SqlValue);
  return row;
}

function handle(conn: BetterSqlite3Connection, request: WorkerRequest): unknown {
  switch (request.op) {
    case 'run':
      return conn.run(request.sql, request.params);
    case 'all':
      return conn.all(request.sql, request.params).map(exactRow);
    case 'get': {
      const row = conn.get(request.sql, request.params);
      return row === undefined ? undefined : exactRow(row);
    }
    case 'exec':
      conn.exec(request.sql);
      return undefined;
    case 'runBatch':
      return conn.runBatch?.(request.sql, request.paramSets) ?? 0;
    case 'begin':
      conn.exec(request.mode === 'deferred' ? 'BEGIN DEFERRED' : 'BEGIN IMMEDIATE');
      return undefined;
    case 'commit':
      conn.exec('COMMIT');
      return undefined;
    case 'rollback':
      // SQLite may already have rolled back (e.g. after SQLITE_FULL or a failed COMMIT of an
      // interrupted statement); a ROLLBACK then would fail and hide the original error.
      if (conn.database.inTransaction) conn.exec('ROLLBACK');
      return undefined;
    case 'close':
      conn.close();
      return undefined;
  }
}

function main(): void {
  const port = parentPort;
  if (!port) throw new Error('worker-entry runs only as a worker thread of the oversync driver');
  const init = workerData as WorkerInit;

  // An open failure (bad path, locked file) answers every request, so callers see the SQLite
  // error with its code instead of a generic crash.
  let conn: BetterSqlite3Connection | undefined;
  let openError: unknown;
  try {
    conn = openBetterSqlite3Connection({
      filename: init.filename,
      ...(init.busyTimeoutMs === undefined ? {} : { busyTimeoutMs: init.busyTimeoutMs }),
      ...(init.readonly === undefined ? {} : { readonly: init.readonly }),
      ...(init.synchronous === undefined ? {} : { synchronous: init.synchronous }),
    });
  } catch (error) {
    openError = error;
  }

  port.on('message', (request: WorkerRequest) => {
    let response: WorkerResponse;
    try {
      if (!conn) {
        if (request.op !== 'close') throw openError;
        response = { id: request.id, ok: true, value: undefined };
      } else {
        response = { id: request.id, ok: true, value: handle(conn, request) };
      }
    } catch (error) {
      response = { id: request.id, ok: false, error: toWireError(error) };
    }
    port.postMessage(response);
  });
}

main();
