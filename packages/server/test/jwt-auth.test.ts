import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { describe, expect, it, vi } from 'vitest';
import { signDevToken } from '../src/auth/dev-token.js';
import { bearerToken, jwtAuth } from '../src/auth/jwt-auth.js';

const SECRET = 'test-secret-0123456789abcdef';
const key = new TextEncoder().encode(SECRET);

function request(authorization?: string): Request {
  const headers = new Headers();
  if (authorization !== undefined) headers.set('authorization', authorization);
  return new Request('http://localhost/sync/capabilities', { headers });
}

async function hs256(claims: Record<string, unknown>, build?: (jwt: SignJWT) => SignJWT) {
  let jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt();
  if (build) jwt = build(jwt);
  return jwt.sign(key);
}

describe('jwtAuth with an HS256 secret', () => {
  const auth = jwtAuth({ secret: SECRET });

  it('accepts a valid token and returns the trimmed sub', async () => {
    const token = await hs256({ sub: '  alice ' }, (j) => j.setExpirationTime('5m'));
    await expect(auth(request(`Bearer ${token}`))).resolves.toEqual({ userId: 'alice' });
  });

  it('accepts a lowercase scheme', async () => {
    const token = await hs256({ sub: 'alice' });
    await expect(auth(request(`bearer ${token}`))).resolves.toEqual({ userId: 'alice' });
  });

  it('accepts a token from signDevToken', async () => {
    const token = await signDevToken(SECRET, 'bob', { expiresInSeconds: 60 });
    await expect(auth(request(`Bearer ${token}`))).resolves.toEqual({ userId: 'bob' });
  });

  it('accepts a Uint8Array secret', async () => {
    const token = await hs256({ sub: 'alice' });
    await expect(jwtAuth({ secret: key })(request(`Bearer ${token}`))).resolves.toEqual({
      userId: 'alice',
    });
  });

  it('refuses a token signed with another secret', async () => {
    const errors: unknown[] = [];
    const token = await signDevToken('another-secret', 'alice');
    const strict = jwtAuth({ secret: SECRET, onError: (e) => errors.push(e) });
    await expect(strict(request(`Bearer ${token}`))).resolves.toBeNull();
    expect(errors).toHaveLength(1);
    expect((errors[0] as { code?: string }).code).toBe('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
  });

  it('refuses an expired token', async () => {
    const past = Math.floor(Date.now() / 1000) - 120;
    const token = await hs256({ sub: 'alice' }, (j) =>
      j.setIssuedAt(past - 60).setExpirationTime(past),
    );
    await expect(auth(request(`Bearer ${token}`))).resolves.toBeNull();
  });

  it('refuses a cached token once it expires (the cache never outlives exp)', async () => {
    const errors: unknown[] = [];
    const cached = jwtAuth({ secret: SECRET, onError: (e) => errors.push(e) });
    const now = Date.now();
    const token = await hs256({ sub: 'alice' }, (j) =>
      j.setIssuedAt(Math.floor(now / 1000)).setExpirationTime(Math.floor(now / 1000) + 60),
    );
    await expect(cached(request(`Bearer ${token}`))).resolves.toEqual({ userId: 'alice' });
    await expect(cached(request(`Bearer ${token}`))).resolves.toEqual({ userId: 'alice' });
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(now + 61_000);
      await expect(cached(request(`Bearer ${token}`))).resolves.toBeNull();
      expect((errors.at(-1) as { code?: string }).code).toBe('ERR_JWT_EXPIRED');
    } finally {
      vi.useRealTimers();
    }
  });

  it('refuses a token that is not valid yet', async () => {
    const later = Math.floor(Date.now() / 1000) + 3600;
    const token = await hs256({ sub: 'alice' }, (j) => j.setNotBefore(later));
    await expect(auth(request(`Bearer ${token}`))).resolves.toBeNull();
  });

  it('refuses a missing header, other schemes and malformed values', async () => {
    const token = await hs256({ sub: 'alice' });
    for (const header of [
      undefined,
      '',
      token,
      `Basic ${token}`,
      `Bearer  ${token}`,
      `Bearer ${token} extra`,
      'Bearer not-a-jwt',
      'Bearer ',
    ]) {
      await expect(auth(request(header)), String(header)).resolves.toBeNull();
    }
  });

  it('refuses missing, empty, non-string and too long user ids', async () => {
    for (const claims of [{}, { sub: '' }, { sub: '   ' }, { sub: 'x'.repeat(256) }, { uid: 42 }]) {
      const token = await hs256(claims);
      await expect(auth(request(`Bearer ${token}`)), JSON.stringify(claims)).resolves.toBeNull();
    }
    const longest = await hs256({ sub: 'x'.repeat(255) });
    await expect(auth(request(`Bearer ${longest}`))).resolves.toEqual({ userId: 'x'.repeat(255) });
  });

  it('refuses an unsigned (alg none) token', async () => {
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const token = `${b64({ alg: 'none' })}.${b64({ sub: 'alice' })}.`;
    await expect(auth(request(`Bearer ${token}`))).resolves.toBeNull();
  });

  it('refuses algorithms outside the allow list', async () => {
    const only512 = jwtAuth({ secret: SECRET, algorithms: ['HS512'] });
    const token = await hs256({ sub: 'alice' });
    await expect(only512(request(`Bearer ${token}`))).resolves.toBeNull();
    const token512 = await new SignJWT({ sub: 'alice' })
      .setProtectedHeader({ alg: 'HS512' })
      .sign(key);
    await expect(only512(request(`Bearer ${token512}`))).resolves.toEqual({ userId: 'alice' });
  });
});

describe('jwtAuth claim checks', () => {
  it('checks the issuer', async () => {
    const auth = jwtAuth({ secret: SECRET, issuer: ['a', 'b'] });
    const good = await hs256({ sub: 'alice' }, (j) => j.setIssuer('b'));
    const bad = await hs256({ sub: 'alice' }, (j) => j.setIssuer('c'));
    const none = await hs256({ sub: 'alice' });
    await expect(auth(request(`Bearer ${good}`))).resolves.toEqual({ userId: 'alice' });
    await expect(auth(request(`Bearer ${bad}`))).resolves.toBeNull();
    await expect(auth(request(`Bearer ${none}`))).resolves.toBeNull();
  });

  it('checks the audience', async () => {
    const auth = jwtAuth({ secret: SECRET, audience: 'sync' });
    const good = await hs256({ sub: 'alice' }, (j) => j.setAudience(['other', 'sync']));
    const bad = await hs256({ sub: 'alice' }, (j) => j.setAudience('other'));
    await expect(auth(request(`Bearer ${good}`))).resolves.toEqual({ userId: 'alice' });
    await expect(auth(request(`Bearer ${bad}`))).resolves.toBeNull();
  });

  it('reads a custom user id claim', async () => {
    const auth = jwtAuth({ secret: SECRET, userIdClaim: 'uid' });
    const token = await hs256({ sub: 'ignored', uid: 'user-7' });
    const without = await hs256({ sub: 'alice' });
    await expect(auth(request(`Bearer ${token}`))).resolves.toEqual({ userId: 'user-7' });
    await expect(auth(request(`Bearer ${without}`))).resolves.toBeNull();
  });
});

describe('jwtAuth with a local JWKS', () => {
  it('verifies ES256 tokens by kid and refuses foreign keys', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const other = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' };
    const auth = jwtAuth({ jwks: { keys: [jwk] }, issuer: 'idp' });
    const sign = (k: CryptoKey) =>
      new SignJWT({ sub: 'carol' })
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setIssuer('idp')
        .setExpirationTime('1h')
        .sign(k);
    await expect(auth(request(`Bearer ${await sign(privateKey)}`))).resolves.toEqual({
      userId: 'carol',
    });
    await expect(auth(request(`Bearer ${await sign(other.privateKey)}`))).resolves.toBeNull();
    // An HS256 token must not be accepted by a JWKS-configured hook.
    await expect(auth(request(`Bearer ${await hs256({ sub: 'carol' })}`))).resolves.toBeNull();
  });
});

describe('jwtAuth options and helpers', () => {
  it('requires exactly one key source and a non-empty secret', () => {
    expect(() => jwtAuth({})).toThrow(/exactly one/);
    expect(() => jwtAuth({ secret: 'a', jwksUrl: 'https://example.com/jwks' })).toThrow(
      /exactly one/,
    );
    expect(() => jwtAuth({ secret: '' })).toThrow(/must not be empty/);
  });

  it('parses bearer headers', () => {
    expect(bearerToken('Bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(bearerToken('BEARER abc')).toBe('abc');
    expect(bearerToken('Token abc')).toBeNull();
    expect(bearerToken(null)).toBeNull();
  });

  it('signDevToken sets sub, iat and exp', async () => {
    const token = await signDevToken(SECRET, 'dave', { expiresInSeconds: 300, issuer: 'dev' });
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString());
    expect(payload.sub).toBe('dave');
    expect(payload.iss).toBe('dev');
    expect(payload.exp - payload.iat).toBe(300);
    await expect(signDevToken(SECRET, ' ')).rejects.toThrow(/userId/);
  });
});
