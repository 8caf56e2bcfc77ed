import {
  createLocalJWKSet,
  createRemoteJWKSet,
  type JSONWebKeySet,
  type JWSHeaderParameters,
  type JWTPayload,
  type JWTVerifyOptions,
  jwtVerify,
} from 'jose';

/** Options of {@link jwtAuth}. Give exactly one key source: `secret`, `jwks` or `jwksUrl`. */
export interface JwtAuthOptions {
  /** Shared HMAC secret (HS256/HS384/HS512). A string is encoded as UTF-8. */
  secret?: string | Uint8Array;
  /** A local JSON Web Key Set (asymmetric keys: ES256, RS256, EdDSA, ...). */
  jwks?: JSONWebKeySet;
  /** URL of a remote JSON Web Key Set, fetched and cached by jose. */
  jwksUrl?: string | URL;
  /** Required `iss` value (one of the values when an array). */
  issuer?: string | string[];
  /** Required `aud` value (one of the values when an array). */
  audience?: string | string[];
  /** Claim holding the user id. Default `'sub'`. */
  userIdClaim?: string;
  /**
   * Accepted `alg` values. Default: `['HS256', 'HS384', 'HS512']` with `secret`; with a key set,
   * whatever algorithm the selected key supports.
   */
  algorithms?: string[];
  /** Called with the reason whenever a request is refused (for debug logging). Never throws. */
  onError?: (error: unknown) => void;
  /**
   * How many verified tokens to remember, so a client's repeated token costs a map lookup
   * instead of a signature check on every request; `exp`/`nbf` are still checked on every
   * use. 0 disables. Default 10 000.
   */
  cacheSize?: number;
}

/** The principal {@link jwtAuth} resolves: the user id is the sync scope. */
export interface JwtPrincipal {
  userId: string;
}

/** An `authenticate` hook: resolves the principal, or `null` when the request is not authenticated. */
export type JwtAuthenticate = (request: Request) => Promise<JwtPrincipal | null>;

/** Longest user id accepted (the user id is stored as the scope id of every row). */
export const MAX_USER_ID_LENGTH = 255;

const DEFAULT_HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'];
const HMAC_HASH: Record<string, string> = {
  HS256: 'SHA-256',
  HS384: 'SHA-384',
  HS512: 'SHA-512',
};
const BEARER = /^([A-Za-z]+) ([^\s]+)$/;

type KeyResolver = (header: JWSHeaderParameters) => Promise<CryptoKey | Uint8Array>;

/**
 * Creates an `authenticate` hook that accepts `Authorization: Bearer <JWT>` and verifies the token
 * with jose. The key is imported once, when the hook is created (HMAC keys once per algorithm).
 *
 * The hook never throws: a missing or malformed header, a bad signature, an expired token, a wrong
 * issuer or audience, or a missing / empty / too long user id claim all resolve to `null`.
 * Invalid options (no key source, two key sources, an empty secret) throw at creation time.
 *
 * @example
 * ```ts
 * const service = createSyncService({
 *   db,
 *   tables,
 *   authenticate: jwtAuth({ secret: process.env.JWT_SECRET!, issuer: 'my-app' }),
 * });
 * ```
 * @example
 * ```ts
 * // Tokens from an identity provider, user id in a custom claim.
 * jwtAuth({ jwksUrl: 'https://idp.example.com/.well-known/jwks.json', audience: 'sync', userIdClaim: 'uid' });
 * ```
 */
export function jwtAuth(options: JwtAuthOptions): JwtAuthenticate {
  const resolveKey = createKeyResolver(options);
  const claim = options.userIdClaim ?? 'sub';
  if (claim.length === 0) throw new TypeError('jwtAuth: userIdClaim must not be empty');
  const verifyOptions: JWTVerifyOptions = {};
  if (options.issuer !== undefined) verifyOptions.issuer = options.issuer;
  if (options.audience !== undefined) verifyOptions.audience = options.audience;
  const algorithms =
    options.algorithms ?? (options.secret !== undefined ? DEFAULT_HMAC_ALGORITHMS : undefined);
  if (algorithms !== undefined) verifyOptions.algorithms = algorithms;
  const onError = options.onError;
  const cacheSize = options.cacheSize ?? 10_000;
  // token → what its verification established; insertion order gives LRU eviction.
  const verified = new Map<string, { userId: string; exp?: number; nbf?: number }>();

  return async (request) => {
    try {
      const token = bearerToken(request.headers.get('authorization'));
      if (token === null) {
        report(onError, new Error('missing or malformed Authorization: Bearer header'));
        return null;
      }
      const hit = verified.get(token);
      if (hit) {
        const now = Date.now() / 1000;
        if ((hit.exp === undefined || now < hit.exp) && (hit.nbf === undefined || now >= hit.nbf)) {
          return { userId: hit.userId };
        }
        // Expired (or not yet valid): verify again, which reports why it is refused.
        verified.delete(token);
      }
      const { payload } = await jwtVerify(token, resolveKey, verifyOptions);
      const userId = userIdFrom(payload, claim);
      if (userId === null) {
        report(
          onError,
          new Error(`claim "${claim}" is not a non-empty string of at most 255 chars`),
        );
        return null;
      }
      if (cacheSize > 0) {
        verified.set(token, {
          userId,
          ...(typeof payload.exp === 'number' ? { exp: payload.exp } : {}),
          ...(typeof payload.nbf === 'number' ? { nbf: payload.nbf } : {}),
        });
        if (verified.size > cacheSize) {
          const oldest = verified.keys().next().value;
          if (oldest !== undefined) verified.delete(oldest);
        }
      }
      return { userId };
    } catch (error) {
      report(onError, error);
      return null;
    }
  };
}

/** Extracts the token of `Bearer <token>` (scheme case-insensitive, exactly one space). */
export function bearerToken(header: string | null): string | null {
  if (header === null) return null;
  const match = BEARER.exec(header);
  if (match === null || match[1]?.toLowerCase() !== 'bearer') return null;
  return match[2] ?? null;
}

function userIdFrom(payload: JWTPayload, claim: string): string | null {
  const value = payload[claim];
  if (typeof value !== 'string') return null;
  const userId = value.trim();
  if (userId.length === 0 || userId.length > MAX_USER_ID_LENGTH) return null;
  return userId;
}

function createKeyResolver(options: JwtAuthOptions): KeyResolver {
  const sources = [options.secret, options.jwks, options.jwksUrl].filter((s) => s !== undefined);
  if (sources.length !== 1) {
    throw new TypeError('jwtAuth: give exactly one of `secret`, `jwks` or `jwksUrl`');
  }
  if (options.secret !== undefined) return hmacKeyResolver(options.secret);
  if (options.jwks !== undefined) {
    const set = createLocalJWKSet(options.jwks);
    return (header) => set(header);
  }
  const set = createRemoteJWKSet(new URL(String(options.jwksUrl)));
  return (header) => set(header);
}

function hmacKeyResolver(secret: string | Uint8Array): KeyResolver {
  const raw = typeof secret === 'string' ? new TextEncoder().encode(secret) : secret.slice();
  if (raw.byteLength === 0) throw new TypeError('jwtAuth: `secret` must not be empty');
  const keys = new Map<string, Promise<CryptoKey>>();
  return (header) => {
    const alg = header.alg ?? '';
    const hash = HMAC_HASH[alg];
    // Unknown or non-HMAC algorithms: hand jose the raw bytes; it rejects them with a typed error.
    if (hash === undefined) return Promise.resolve(raw);
    let key = keys.get(alg);
    if (key === undefined) {
      key = crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash }, false, ['verify']);
      keys.set(alg, key);
    }
    return key;
  };
}

function report(onError: ((error: unknown) => void) | undefined, error: unknown): void {
  if (onError === undefined) return;
  try {
    onError(error);
  } catch {
    // A failing debug hook must not turn a refusal into an exception.
  }
}
