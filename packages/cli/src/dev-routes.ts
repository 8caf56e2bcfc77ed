import { randomUUID } from 'node:crypto';
import { buildOpenApiDocument, isCanonicalUuid } from '@oversync/protocol';
import { signDevToken } from '@oversync/server';
import { type Context, Hono } from 'hono';
import { cors } from 'hono/cors';

/** What the dev app needs from the sync service (structurally a `SyncService`). */
export interface DevService {
  fetch(request: Request): Promise<Response>;
  setRetainedFloor(userId: string, floor: string): Promise<{ found: boolean }>;
  watchSubscriberCount(userId: string): number;
  scopeManager: {
    execWrite<T>(
      scopeId: string,
      options: { writerId: string },
      fn: (tx: { query(sql: string, params?: unknown[]): Promise<unknown> }) => Promise<T>,
    ): Promise<{ bundle: { bundleSeq: string } }>;
  };
}

/** Logger subset used by the dev app (pino-compatible). */
export interface DevLogger {
  info(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
}

/** Options of {@link createDevApp}. */
export interface DevAppOptions {
  service: DevService;
  /** HS256 secret used to sign `/dummy-signin` tokens (the one `jwtAuth` verifies). */
  secret: string;
  /** Lifetime of `/dummy-signin` tokens. Default 300 s, like the reference example server. */
  tokenTtlSeconds?: number;
  /** Prefix of the sync routes (the service's `basePath`); the dev routes stay at the root. */
  basePath?: string;
  logger?: DevLogger;
}

/** Lifetime of `/dummy-signin` tokens, in seconds. */
export const DUMMY_SIGNIN_TTL_SECONDS = 300;

const MAX_USER_ID_LENGTH = 255;
const DIGITS = /^(0|[1-9][0-9]*)$/;

/**
 * The dev server's Hono app: the sync handler at `/sync/*` and `/syncx/*`, plus the development
 * routes of the reference example server (`go-oversync` `examples/nethttp_server`):
 *
 * - `POST /dummy-signin` `{"user","password","device"?}` → `{"token","expires_in":300,"user"}`
 *   (any password);
 * - `POST /test/retention-floor` `{"user_id","retained_bundle_floor"}` →
 *   `{"status":"ok","user_id","retained_bundle_floor"}`, 404 `user_state_not_found`;
 * - `GET /test/watch-subscribers?user_id=` → `{"user_id","subscriber_count","process_local_only":true}`;
 * - `GET /openapi.json`.
 *
 * These routes are unauthenticated: never expose them outside development.
 */
export function createDevApp(options: DevAppOptions): Hono {
  const { service, secret, logger } = options;
  const ttl = options.tokenTtlSeconds ?? DUMMY_SIGNIN_TTL_SECONDS;
  const app = new Hono();

  const devCors = cors({
    origin: '*',
    allowHeaders: ['Authorization', 'Content-Type', 'Oversync-Source-ID'],
    allowMethods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
    maxAge: 600,
  });
  for (const path of ['/dummy-signin', '/test/*', '/openapi.json']) app.use(path, devCors);

  const basePath = options.basePath ?? '';
  app.all(`${basePath}/sync/*`, (c) => service.fetch(c.req.raw));
  app.all(`${basePath}/syncx/*`, (c) => service.fetch(c.req.raw));

  app.post('/dummy-signin', async (c) => {
    const body = await jsonObject(c);
    const user = typeof body?.user === 'string' ? body.user.trim() : '';
    if (user.length === 0 || user.length > MAX_USER_ID_LENGTH) {
      return invalidRequest(c, 'body must be JSON {"user": "<non-empty id>", "password": "…"}');
    }
    const token = await signDevToken(secret, user, { expiresInSeconds: ttl });
    logger?.info({ user }, 'dummy sign-in');
    return c.json({ token, expires_in: ttl, user });
  });

  app.post('/test/retention-floor', async (c) => {
    const body = await jsonObject(c);
    const userId = typeof body?.user_id === 'string' ? body.user_id.trim() : '';
    if (userId.length === 0) return invalidRequest(c, 'user_id is required');
    const floor = bundleSeq(body?.retained_bundle_floor);
    if (floor === null) {
      return invalidRequest(c, 'retained_bundle_floor must be a non-negative integer');
    }
    const { found } = await service.setRetainedFloor(userId, floor);
    if (!found) {
      return c.json(
        { error: 'user_state_not_found', message: `no sync state for user ${userId}` },
        404,
      );
    }
    const asNumber = Number(floor);
    return c.json({
      status: 'ok',
      user_id: userId,
      retained_bundle_floor: Number.isSafeInteger(asNumber) ? asNumber : floor,
    });
  });

  // A server-originated write (scopeManager.execWrite) for interop scenarios: inserts one
  // business.users row for user_id as its own bundle, so watchers wake and devices pull it.
  app.post('/test/server-write', async (c) => {
    const body = await jsonObject(c);
    const userId = typeof body?.user_id === 'string' ? body.user_id.trim() : '';
    const name = typeof body?.name === 'string' ? body.name : '';
    const email = typeof body?.email === 'string' ? body.email : '';
    const id = typeof body?.id === 'string' ? body.id : randomUUID();
    if (userId.length === 0 || name.length === 0 || email.length === 0 || !isCanonicalUuid(id)) {
      return invalidRequest(c, 'body must be {"user_id","name","email"[,"id": uuid]}');
    }
    const { bundle } = await service.scopeManager.execWrite(
      userId,
      { writerId: 'oversync-dev-server-write' },
      (tx) =>
        tx.query(
          'INSERT INTO business.users (_sync_scope_id, id, name, email) VALUES ($1, $2::uuid, $3, $4)',
          [userId, id, name, email],
        ),
    );
    return c.json({ status: 'ok', user_id: userId, id, bundle_seq: Number(bundle.bundleSeq) });
  });

  app.get('/test/watch-subscribers', (c) => {
    const userId = c.req.query('user_id')?.trim() ?? '';
    if (userId.length === 0) return invalidRequest(c, 'user_id query parameter is required');
    return c.json({
      user_id: userId,
      subscriber_count: service.watchSubscriberCount(userId),
      process_local_only: true,
    });
  });

  app.get('/openapi.json', (c) =>
    c.json(buildOpenApiDocument({ serverUrl: new URL(c.req.url).origin })),
  );

  app.notFound((c) => c.json({ error: 'not_found', message: `no route ${c.req.path}` }, 404));
  app.onError((error, c) => {
    logger?.error({ err: error, path: c.req.path }, 'dev route failed');
    return c.json({ error: 'internal_error', message: 'internal server error' }, 500);
  });
  return app;
}

async function jsonObject(c: Context): Promise<Record<string, unknown> | null> {
  try {
    const value: unknown = JSON.parse(await c.req.text());
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

/** A non-negative bundle sequence as a decimal string (JSON number or digit string). */
function bundleSeq(value: unknown): string | null {
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) && value >= 0 ? String(value) : null;
  }
  if (typeof value === 'string' && DIGITS.test(value) && BigInt(value) < 2n ** 63n) return value;
  return null;
}

function invalidRequest(c: Context, message: string): Response {
  return c.json({ error: 'invalid_request', message }, 400);
}
