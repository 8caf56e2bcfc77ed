import {
  base64ToBytes,
  canonicalJson,
  isCanonicalUuid,
  SyncError,
  validateWireValue,
} from '@oversync/protocol';
import type { Catalog } from '../bootstrap/catalog.js';
import type { ColumnInfo, TableInfo } from '../bootstrap/table-info.js';
import { SCOPE_COLUMN } from '../bootstrap/validate-tables.js';
import { OP_DELETE, OP_INSERT, OP_UPDATE, type OpCode } from '../capture/normalize.js';

/** A validated push row, ready to stage. */
export interface StagedRow {
  tableId: number;
  key: string;
  op: OpCode;
  baseRowVersion: string;
  /** Sorted column list of the payload (for set-based apply). */
  colset: string;
  /** Payload in PostgreSQL input form for `jsonb_populate_record`, or null for DELETE. */
  applyPayload: string | null;
  /** This row's member of the canonical_request_hash input, without its ordinal. */
  hashItemHead: string;
  hashItemTail: string;
}

const IDENT = /^[a-z0-9_]+$/;
const OPS: Record<string, OpCode> = { INSERT: OP_INSERT, UPDATE: OP_UPDATE, DELETE: OP_DELETE };
const LOOSE_UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const TEMPORAL =
  /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?(?:Z|z|[+-]\d{2}(?::?\d{2})?)?$/;
const FLOAT4_MAX = 3.4028234663852886e38;
/** Longest accepted sync key (UTF-8 bytes). */
export const MAX_KEY_BYTES = 1024;

function invalid(index: number, message: string): SyncError {
  return new SyncError('push_chunk_invalid', `rows[${index}]: ${message}`);
}

/**
 * Validates one uploaded row against the registered table and the G2 value rules, and
 * prepares what the commit needs. Everything a client could get wrong is rejected here
 * with `push_chunk_invalid`, before anything is stored.
 */
export function prepareRow(
  catalog: Catalog,
  raw: unknown,
  index: number,
  withHash = true,
): StagedRow {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw invalid(index, 'must be an object');
  const row = raw as Record<string, unknown>;
  const schemaRaw = row.schema;
  const tableRaw = row.table;
  if (typeof schemaRaw !== 'string' || typeof tableRaw !== 'string') {
    throw invalid(index, 'schema and table must be strings');
  }
  const schema = schemaRaw.trim().toLowerCase() || 'public';
  const tableName = tableRaw.trim().toLowerCase();
  if (!IDENT.test(schema) || !IDENT.test(tableName))
    throw invalid(index, 'schema/table must match ^[a-z0-9_]+$');
  const table = catalog.byName(schema, tableName);
  if (!table) throw invalid(index, `table ${schema}.${tableName} is not registered`);
  if (typeof row.op !== 'string') throw invalid(index, 'op must be a string');
  const op = OPS[row.op.trim().toUpperCase()];
  if (op === undefined) throw invalid(index, 'op must be INSERT, UPDATE or DELETE');
  const base = row.base_row_version;
  if (typeof base !== 'number' || !Number.isSafeInteger(base) || base < 0) {
    throw invalid(index, 'base_row_version must be a non-negative integer');
  }
  const key = readKey(table, row.key, index);
  let applyPayload: string | null = null;
  let colset = '';
  let payloadCanonical = 'null';
  if (op === OP_DELETE) {
    // `"payload": null` is how default kotlinx.serialization settings spell "omitted".
    if (row.payload !== undefined && row.payload !== null)
      throw invalid(index, 'DELETE rows must omit payload');
  } else {
    const payload = row.payload;
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
      throw invalid(index, `${row.op} rows need a payload object`);
    }
    const prepared = preparePayload(table, key, payload as Record<string, unknown>, index);
    applyPayload = prepared.apply;
    colset = prepared.colset;
    if (withHash) {
      try {
        payloadCanonical = canonicalJson(payload);
      } catch {
        throw invalid(index, 'payload is not representable as canonical JSON');
      }
    }
  }
  if (!withHash) {
    // G1 sessions have no canonical_request_hash to verify (go-oversync has none).
    return {
      tableId: table.tableId,
      key,
      op,
      baseRowVersion: String(base),
      colset,
      applyPayload,
      hashItemHead: '',
      hashItemTail: '',
    };
  }
  let keyCanonical: string;
  let head: string;
  try {
    keyCanonical = canonicalJson(row.key);
    head = `{"base_row_version":"${base}","key":${keyCanonical},"op":${canonicalJson(row.op)},"payload":${payloadCanonical},"row_ordinal":"`;
  } catch {
    throw invalid(index, 'row is not representable as canonical JSON');
  }
  const tail = `","schema":${canonicalJson(schemaRaw)},"table":${canonicalJson(tableRaw)}}`;
  return {
    tableId: table.tableId,
    key,
    op,
    baseRowVersion: String(base),
    colset,
    applyPayload,
    hashItemHead: head,
    hashItemTail: tail,
  };
}

function readKey(table: TableInfo, rawKey: unknown, index: number): string {
  if (rawKey === null || typeof rawKey !== 'object' || Array.isArray(rawKey)) {
    throw invalid(index, 'key must be an object');
  }
  const members = Object.keys(rawKey);
  if (members.length !== 1 || members[0] !== table.keyColumn) {
    throw invalid(index, `key must be exactly {"${table.keyColumn}": "<value>"}`);
  }
  const value = (rawKey as Record<string, unknown>)[table.keyColumn];
  if (typeof value !== 'string' || value.length === 0)
    throw invalid(index, 'key value must be a non-empty string');
  if (table.keyKind === 'uuid' && !isCanonicalUuid(value)) {
    throw invalid(index, 'uuid keys must use canonical dashed lowercase UUID text');
  }
  if (value.includes('\u0000')) throw invalid(index, 'key may not contain NUL');
  // Index entries have a size limit; a longer key would fail deep inside PostgreSQL.
  if (Buffer.byteLength(value) > MAX_KEY_BYTES)
    throw invalid(index, `key is longer than ${MAX_KEY_BYTES} bytes`);
  return value;
}

function preparePayload(
  table: TableInfo,
  key: string,
  payload: Record<string, unknown>,
  index: number,
): { apply: string; colset: string } {
  const parts: string[] = [];
  const names: string[] = [];
  let sawKey = false;
  for (const [name, value] of Object.entries(payload)) {
    if (name === SCOPE_COLUMN) throw invalid(index, `payload may not contain ${SCOPE_COLUMN}`);
    const column = table.columnsByName.get(name);
    if (!column) throw invalid(index, `unknown column "${name}" in ${table.schema}.${table.table}`);
    if (column.generated) throw invalid(index, `column ${name} is generated and cannot be written`);
    if (name === table.keyColumn) {
      sawKey = true;
      if (value !== key) throw invalid(index, `payload ${name} must equal the row key`);
    }
    parts.push(`${JSON.stringify(name)}:${applyValue(column, value, index)}`);
    names.push(name);
  }
  if (!sawKey) {
    parts.push(`${JSON.stringify(table.keyColumn)}:${JSON.stringify(key)}`);
    names.push(table.keyColumn);
  }
  names.sort();
  return { apply: `{${parts.join(',')}}`, colset: names.join(',') };
}

/** JSON text of one value in the form PostgreSQL's input functions accept. */
function applyValue(column: ColumnInfo, value: unknown, index: number): string {
  if (value === null) {
    if (column.notNull) throw invalid(index, `column ${column.name} may not be null`);
    return 'null';
  }
  const fail = (message: string): never => {
    throw invalid(index, `column ${column.name}: ${message}`);
  };
  switch (column.family) {
    case 'integer': {
      const v = validateWireValue('integer', value);
      if (!v.ok) fail(v.message);
      const n = BigInt(value as string);
      const range = column.intRange;
      if (range && (n < range[0] || n > range[1])) fail(`value is out of range for ${column.type}`);
      return JSON.stringify(value);
    }
    case 'decimal': {
      const v = validateWireValue('decimal', value);
      if (!v.ok) fail(v.message);
      return JSON.stringify(value);
    }
    case 'float': {
      const v = validateWireValue('float', value);
      if (!v.ok) fail(v.message);
      const x = Number(value);
      if (column.type === 'float4') {
        const f = Math.fround(x);
        if (Math.abs(x) > FLOAT4_MAX || (f === 0 && x !== 0))
          fail('value is out of range for real');
      }
      return JSON.stringify(value);
    }
    case 'boolean': {
      const v = validateWireValue('boolean', value);
      if (!v.ok) fail(v.message);
      return value === true || value === '1' ? 'true' : 'false';
    }
    case 'blob': {
      const v = validateWireValue('blob', value);
      if (!v.ok) fail(v.message);
      return JSON.stringify(`\\x${Buffer.from(base64ToBytes(value as string)).toString('hex')}`);
    }
    case 'uuid':
      if (typeof value !== 'string' || !LOOSE_UUID.test(value))
        fail('must be a dashed UUID string');
      return JSON.stringify(value);
    case 'json': {
      if (typeof value !== 'string') fail('must be a string holding JSON text');
      try {
        JSON.parse(value as string);
      } catch {
        fail('must hold valid JSON text');
      }
      // Raw text, so PostgreSQL parses numbers exactly (never through a JS number).
      return value as string;
    }
    case 'timestamptz':
    case 'timestamp':
    case 'date':
      if (typeof value !== 'string' || !TEMPORAL.test(value))
        fail('must be an RFC 3339 / ISO 8601 string');
      return JSON.stringify(value);
    default:
      if (typeof value !== 'string') fail('must be a string');
      if ((value as string).includes('\u0000')) fail('may not contain NUL');
      return JSON.stringify(value);
  }
}
