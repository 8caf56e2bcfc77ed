/**
 * RFC 8785 JSON Canonicalization Scheme (JCS), the byte form every G2 hash is computed over.
 *
 * Clients recompute `bundle_hash` and `canonical_request_hash` independently, so a single byte of
 * difference (key order, escaping, number spelling) breaks replay verification.
 *
 * @module
 */

/** Matches a lone (unpaired) UTF-16 surrogate, which has no UTF-8 encoding and so no JCS form. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * The JCS rendering of a finite number: ECMAScript shortest round-trip form, `-0` as `0`.
 *
 * Throws a `TypeError` for `NaN` and infinities, which JSON cannot represent.
 *
 * @example
 * ```ts
 * jsonNumberText(1e21); // '1e+21'
 * jsonNumberText(-0); // '0'
 * ```
 */
export function jsonNumberText(n: number): string {
  if (!Number.isFinite(n)) {
    throw new TypeError(`canonical JSON cannot represent the number ${String(n)}`);
  }
  // `String(-0)` is already "0"; the explicit branch documents the JCS rule instead of relying on it.
  return Object.is(n, -0) ? '0' : String(n);
}

/**
 * The JCS rendering of a string, quotes included.
 *
 * `JSON.stringify` escapes exactly the JCS set (`"`, `\`, the C0 controls with the short forms
 * `\b \f \n \r \t` and lowercase `\u00xx` otherwise), but it silently escapes lone surrogates
 * where JCS requires an error, hence the extra check.
 *
 * @example
 * ```ts
 * canonicalJsonString('a"b\n'); // '"a\\"b\\n"'
 * ```
 */
export function canonicalJsonString(s: string): string {
  if (LONE_SURROGATE.test(s)) {
    throw new TypeError('canonical JSON cannot represent a string with an unpaired surrogate');
  }
  return JSON.stringify(s);
}

/**
 * Canonical JSON text (RFC 8785) of a JSON-like value.
 *
 * Objects are emitted with members sorted by UTF-16 code units and no whitespace; members whose
 * value is `undefined` are skipped (as `JSON.stringify` does); `bigint` values become JSON numbers
 * with their exact decimal digits, so int64 values survive; values with a `toJSON` method (e.g.
 * `Date`) are replaced by its result. Throws a `TypeError` for non-finite numbers, lone
 * surrogates, cycles, and values JSON cannot represent (functions, symbols, `undefined` outside an
 * object member, non-plain objects such as `Map` or `Uint8Array`).
 *
 * @example
 * ```ts
 * canonicalJson({ b: 1, a: [true, null, 'x'] }); // '{"a":[true,null,"x"],"b":1}'
 * canonicalJson({ n: 9223372036854775807n }); // '{"n":9223372036854775807}'
 * ```
 */
export function canonicalJson(value: unknown): string {
  const parts: string[] = [];
  write(value, parts, new Set<object>());
  return parts.join('');
}

function write(value: unknown, out: string[], active: Set<object>): void {
  switch (typeof value) {
    case 'string':
      out.push(canonicalJsonString(value));
      return;
    case 'number':
      out.push(jsonNumberText(value));
      return;
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return;
    case 'bigint':
      out.push(value.toString());
      return;
    case 'object':
      if (value === null) {
        out.push('null');
        return;
      }
      writeObject(value, out, active);
      return;
    default:
      throw new TypeError(`canonical JSON cannot represent a value of type ${typeof value}`);
  }
}

function writeObject(value: object, out: string[], active: Set<object>): void {
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') {
    write(toJSON.call(value), out, active);
    return;
  }
  if (active.has(value)) {
    throw new TypeError('canonical JSON cannot represent a cyclic structure');
  }
  active.add(value);
  if (Array.isArray(value)) {
    out.push('[');
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.push(',');
      const item: unknown = value[i];
      if (item === undefined) {
        // JSON.stringify would silently print null; a hash input must not change shape silently.
        throw new TypeError(`canonical JSON cannot represent undefined at array index ${i}`);
      }
      write(item, out, active);
    }
    out.push(']');
  } else {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
      throw new TypeError(
        `canonical JSON accepts only plain objects, got ${typeof name === 'string' ? name : 'an exotic object'}`,
      );
    }
    const record = value as Record<string, unknown>;
    // Default sort compares UTF-16 code units, which is exactly the JCS member order.
    const keys = Object.keys(record).sort();
    out.push('{');
    let first = true;
    for (const key of keys) {
      const member = record[key];
      if (member === undefined) continue;
      if (!first) out.push(',');
      first = false;
      out.push(canonicalJsonString(key), ':');
      write(member, out, active);
    }
    out.push('}');
  }
  active.delete(value);
}
