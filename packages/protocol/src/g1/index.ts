/**
 * G1 ("go-oversync @1f1118f") wire primitives: lossless JSON parsing, Go's canonical JSON and the
 * G1 `bundle_hash` (protocol.md §2.5–2.8). Everything here is browser-safe (no Node APIs).
 *
 * @example
 * ```ts
 * import { g1BundleHash, goCanonicalJson, parseLosslessJson } from '@oversync/protocol';
 * goCanonicalJson(parseLosslessJson('{"f":12.3000,"d":9007199254740993}'));
 * // '{"d":9007199254740992,"f":12.3}'
 * ```
 *
 * @module
 */

export type { G1HashRow } from './bundle-hash.js';
export { g1BundleHash, g1BundleHashInput } from './bundle-hash.js';
export type { GoJsonValue } from './go-canonical-json.js';
export { goCanonicalJson, goHtmlEscape, goNumberText } from './go-canonical-json.js';
export type { LosslessJsonParseOptions, LosslessValue } from './lossless-json.js';
export { JsonNumber, parseLosslessJson } from './lossless-json.js';
