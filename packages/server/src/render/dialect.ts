/**
 * The two wire generations a mount can speak.
 *
 * - `g2` — the current protocol (SQLiteNow Kotlin/Dart clients, the shared contract fixtures):
 *   payload numbers as canonical strings, RFC 8785 hashes, byte-bounded snapshots.
 * - `g1` — go-oversync @1f1118f and its Go `oversqlite` client: payload numbers as JSON
 *   numbers, Go's canonical JSON for `bundle_hash`, no request hash, row-bounded snapshots.
 *
 * Values stay typed inside the server (the G2 canonical form is the storage form); a dialect
 * only decides how they are read from and rendered onto the wire.
 *
 * @example
 * ```ts
 * const dialect: Dialect = 'g1';
 * ```
 */
export type Dialect = 'g1' | 'g2';
