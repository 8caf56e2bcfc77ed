import { SignJWT } from 'jose';

/** Options of {@link signDevToken}. */
export interface DevTokenOptions {
  /** Lifetime in seconds. Default 86 400 (24 h). */
  expiresInSeconds?: number;
  /** Optional `iss` claim. */
  issuer?: string;
}

/** Default lifetime of a development token: 24 hours. */
export const DEFAULT_DEV_TOKEN_TTL_SECONDS = 86_400;

/**
 * Signs a development token: HS256 over `secret`, `sub` = `userId`, `iat` = now, `exp` = now +
 * `expiresInSeconds`. {@link jwtAuth} with the same secret accepts it.
 *
 * @example
 * ```ts
 * const token = await signDevToken(secret, 'alice', { expiresInSeconds: 300 });
 * await fetch(`${baseUrl}/sync/capabilities`, { headers: { authorization: `Bearer ${token}` } });
 * ```
 */
export async function signDevToken(
  secret: string,
  userId: string,
  options: DevTokenOptions = {},
): Promise<string> {
  if (secret.length === 0) throw new TypeError('signDevToken: secret must not be empty');
  if (userId.trim().length === 0) throw new TypeError('signDevToken: userId must not be empty');
  const ttl = options.expiresInSeconds ?? DEFAULT_DEV_TOKEN_TTL_SECONDS;
  if (!Number.isFinite(ttl) || ttl <= 0) {
    throw new TypeError('signDevToken: expiresInSeconds must be a positive number');
  }
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(userId)
    .setIssuedAt(now)
    .setExpirationTime(now + Math.floor(ttl));
  if (options.issuer !== undefined) jwt.setIssuer(options.issuer);
  return jwt.sign(new TextEncoder().encode(secret));
}
