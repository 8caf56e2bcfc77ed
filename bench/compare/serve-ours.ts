/**
 * Our server as its own process for `bench:compare` (the reference runs as its own process
 * too, so neither server shares its event loop with the benchmark client). Reads its
 * configuration from `BENCH_OURS` (JSON: dbUrl, jwtSecret, pool), prints one JSON line
 * `{ "url", "pid" }` once it listens, and stops on SIGTERM.
 */
import { DEMO_TABLES, listen } from '@oversync/cli';
import { createPgDatabase, createSyncService, jwtAuth } from '@oversync/server';

const config = JSON.parse(process.env.BENCH_OURS ?? '{}') as {
  dbUrl: string;
  jwtSecret: string;
  pool: number;
};
const db = createPgDatabase({ connectionString: config.dbUrl, max: config.pool });
const service = createSyncService({
  db,
  tables: DEMO_TABLES,
  authenticate: jwtAuth({ secret: config.jwtSecret }),
  dialect: 'g1',
  appName: 'nethttp-server-example',
  // BENCH_OURS_LIMITS='{"max_concurrent_snapshot_builds":8}' to try other limits
  limits: JSON.parse(process.env.BENCH_OURS_LIMITS ?? '{}') as Record<string, number>,
});
await service.bootstrap();
const server = await listen((request) => service.fetch(request), { port: 0, host: '127.0.0.1' });
process.stdout.write(`${JSON.stringify({ url: server.url, pid: process.pid })}\n`);
process.once('SIGTERM', () => {
  void (async () => {
    await server.close(1000);
    await service.close({ timeoutMs: 2000 }).catch(() => undefined);
    await db.close().catch(() => undefined);
    process.exit(0);
  })();
});
