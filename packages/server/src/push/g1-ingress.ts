import { canonicalFloatText, JsonNumber, type LosslessValue } from '@oversync/protocol';
import type { Catalog } from '../bootstrap/catalog.js';
import type { ColumnInfo, TableInfo } from '../bootstrap/table-info.js';

const LITERAL = /^(-?)([0-9]+)(?:\.([0-9]+))?(?:[eE]([+-]?[0-9]+))?$/;

/**
 * The exact integer a JSON number literal denotes (`12`, `1.0`, `1e3`), or undefined when it
 * has a fractional part. Works on the digits, never through a JS number.
 */
export function integerFromLiteral(literal: string): string | undefined {
  const m = LITERAL.exec(literal);
  if (!m) return undefined;
  const frac = m[3] ?? '';
  let digits = `${m[2]}${frac}`;
  const exp = Number(m[4] ?? '0') - frac.length;
  // Far beyond int64 either way; refuse instead of building huge strings.
  if (!Number.isSafeInteger(exp) || exp > 40 || exp < -400) return undefined;
  if (exp < 0) {
    const cut = digits.length + exp;
    const dropped = cut <= 0 ? digits : digits.slice(cut);
    if (/[^0]/.test(dropped)) return undefined;
    digits = cut <= 0 ? '0' : digits.slice(0, cut);
  } else {
    digits += '0'.repeat(exp);
  }
  const n = BigInt(digits);
  return `${m[1] === '-' && n !== 0n ? '-' : ''}${n}`;
}

/** JSON text of a lossless value with numbers exactly as written. */
export function losslessJsonText(value: LosslessValue): string {
  if (value === null) return 'null';
  if (value instanceof JsonNumber) return value.text;
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (Array.isArray(value)) return `[${value.map(losslessJsonText).join(',')}]`;
  return `{${Object.entries(value)
    .map(([k, v]) => `${JSON.stringify(k)}:${losslessJsonText(v)}`)
    .join(',')}}`;
}

/**
 * One G1 payload value in the stored (G2) form, or the value unchanged when it does not fit
 * the column — the G2 row validation then rejects it with `push_chunk_invalid`, so both
 * dialects share one set of rules about what may reach a business table.
 */
function storedValue(column: ColumnInfo | undefined, value: LosslessValue): unknown {
  if (!column || value === null) return value;
  if (column.family === 'json') {
    // G1 carries json columns as nested JSON; the stored form is the JSON text.
    return typeof value === 'string' ? value : losslessJsonText(value);
  }
  if (!(value instanceof JsonNumber)) return value;
  const text = value.text;
  switch (column.family) {
    case 'integer':
      return integerFromLiteral(text) ?? value;
    case 'decimal': {
      // PostgreSQL reads any JSON number spelling; only the sign of zero and the exponent
      // marker need normalising to the stored form.
      const lower = text.replace('E', 'e').replace('e+', 'e');
      return integerFromLiteral(lower) === '0' ? '0' : lower;
    }
    case 'float': {
      const x = Number(text);
      return Number.isFinite(x) ? canonicalFloatText(x) : value;
    }
    case 'boolean': {
      // SQLite has no boolean: the Go client sends 0/1 for INTEGER-backed flags.
      const n = integerFromLiteral(text);
      return n === '0' ? false : n === '1' ? true : value;
    }
    default:
      return value;
  }
}

function tableOf(catalog: Catalog, row: Record<string, LosslessValue>): TableInfo | undefined {
  const schema = row.schema;
  const table = row.table;
  if (typeof schema !== 'string' || typeof table !== 'string') return undefined;
  return catalog.byName(schema.trim().toLowerCase() || 'public', table.trim().toLowerCase());
}

function envelopeInt(value: LosslessValue | undefined): unknown {
  if (!(value instanceof JsonNumber)) return value;
  const n = integerFromLiteral(value.text);
  // Out-of-range and fractional values stay non-numbers, which validation rejects.
  return n !== undefined && Number.isSafeInteger(Number(n)) ? Number(n) : value.text;
}

function isObject(v: LosslessValue | undefined): v is { [key: string]: LosslessValue } {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof JsonNumber);
}

/**
 * Converts a G1 push chunk body (parsed without losing number digits) into the stored form
 * the chunk validation reads: payload numbers become exact decimal strings per column type,
 * envelope integers become JS numbers (only when safe), everything else is passed through.
 *
 * @example
 * ```ts
 * const body = g1ChunkToStored(catalog, parseLosslessJson(text));
 * await uploadChunk(ctx, actor, pushId, body);
 * ```
 */
export function g1ChunkToStored(catalog: Catalog, body: LosslessValue): unknown {
  if (!isObject(body)) return body;
  const rows = body.rows;
  return {
    start_row_ordinal: envelopeInt(body.start_row_ordinal),
    rows: Array.isArray(rows)
      ? rows.map((row) => {
          if (!isObject(row)) return row;
          const table = tableOf(catalog, row);
          const payload = row.payload;
          const out: Record<string, unknown> = {
            schema: row.schema,
            table: row.table,
            key: row.key,
            op: row.op,
            base_row_version: envelopeInt(row.base_row_version),
          };
          if (payload !== undefined) {
            out.payload = isObject(payload)
              ? Object.fromEntries(
                  Object.entries(payload).map(([name, v]) => [
                    name,
                    storedValue(table?.columnsByName.get(name), v),
                  ]),
                )
              : payload;
          }
          return out;
        })
      : rows,
  };
}
