/**
 * Our server as an interop peer: a G1 mount (and a G2 mount under `/g2`) over a fresh
 * PostgreSQL database holding go-oversync's example schema, served over real HTTP on
 * loopback — mounted the way an application mounts it.
 *
 * @module
 */

import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEMO_TABLES, REFERENCE_SCHEMA_SQL } from '@oversync/cli';
import { createPgDatabase, createSyncService, jwtAuth } from '@oversync/server';
import { toNodeListener } from '@oversync/server/node';
import pg from 'pg';

/** A running peer. */
export interface OurServer {
  /** G1 base URL (no trailing slash). */
  baseUrl: string;
  /** G2 base URL of the same service. */
  g2BaseUrl: string;
  /** URL of its own database. */
  pgUrl: string;
  /** Moves a user's retained floor (what `/test/retention-floor` does on the example server). */
  setRetainedFloor(userId: string, floor: bigint): Promise<void>;
  close(): Promise<void>;
}

/** Replaces the database name of a PostgreSQL URL. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/**
 * Creates `oversync_interop_<random>` on `adminUrl`, installs the schema, bootstraps the
 * service and listens on 127.0.0.1 (random port). `close` drops the database.
 *
 * @example
 * ```ts
 * const ours = await startOurServer({ adminUrl: 'postgres://postgres@127.0.0.1:5432/postgres', jwtSecret: 's' });
 * ```
 */
export async function startOurServer(options: {
  adminUrl: string;
  jwtSecret: string;
  pool?: number;
  keepDatabase?: boolean;
}): Promise<OurServer> {
  const name = `oversync_interop_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: options.adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const pgUrl = withDatabase(options.adminUrl, name);
  const setup = new pg.Client({ connectionString: pgUrl });
  await setup.connect();
  await setup.query(REFERENCE_SCHEMA_SQL);
  await setup.end();
  const db = createPgDatabase({ connectionString: pgUrl, max: options.pool ?? 10 });
  const service = createSyncService({
    db,
    tables: DEMO_TABLES,
    authenticate: jwtAuth({ secret: options.jwtSecret }),
    dialect: 'g1',
    appName: 'nethttp-server-example',
    retention: { pruneIntervalMs: 0 },
  });
  await service.bootstrap();
  const g2 = service.handler({ dialect: 'g2', basePath: '/g2' });
  const server: Server = createServer(
    toNodeListener((request) =>
      new URL(request.url).pathname.startsWith('/g2/') ? g2(request) : service.fetch(request),
    ),
  );
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    g2BaseUrl: `http://127.0.0.1:${port}/g2`,
    pgUrl,
    async setRetainedFloor(userId, floor) {
      await service.setRetainedFloor(userId, floor);
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await service.close();
      await db.close();
      if (options.keepDatabase) return;
      const a = new pg.Client({ connectionString: options.adminUrl });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}
