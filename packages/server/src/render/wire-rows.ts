import type { Catalog } from '../bootstrap/catalog.js';
import { OP_DELETE, OP_NAMES, type OpCode } from '../capture/normalize.js';

/**
 * Renders one bundle row as G2 wire JSON by concatenation: the payload is stored as
 * canonical JSON text already, and envelope integers are decimal strings from PostgreSQL,
 * so nothing passes through a JS number.
 */
export function bundleRowJson(
  catalog: Catalog,
  tableId: number,
  op: OpCode,
  key: string,
  rowVersion: string,
  payload: string | null,
): string {
  const t = catalog.byId(tableId);
  return `{"schema":${JSON.stringify(t.schema)},"table":${JSON.stringify(t.table)},"key":{${JSON.stringify(
    t.keyColumn,
  )}:${JSON.stringify(key)}},"op":"${OP_NAMES[op]}","row_version":${rowVersion},"payload":${
    op === OP_DELETE || payload === null ? 'null' : payload
  }}`;
}
