/**
 * The `rich-schema/business-rich-v0.json` manifest of the shared contracts, applied to the
 * client: (1) the local schema our end-to-end suite uses is exactly the manifest's (tables, key,
 * primary key, columns with logical SQLite types and nullability, foreign keys with their delete
 * action) as the client's own introspection sees it; (2) every `numericScenarios` case, one test
 * each: the `local` values written into `typed_rows` and synced through our server come back in
 * the committed bundle with exactly the `committed` spelling, and the replayed local row holds
 * the same value.
 */

import {
  BACKENDS,
  contractsAvailable,
  FIXTURES_ABSENT,
  loadContract,
  uniqueUser,
} from '@oversync/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlValue } from '../../src/index.js';
import { readTableInfo } from '../../src/local/table-info.js';
import { Device, type E2eServer, newId, startE2eServer, TempFiles } from './support/harness.js';
import { SYNC_SCHEMA, SYNC_TABLES } from './support/local-schema.js';

interface ManifestColumn {
  name: string;
  logicalType: 'text' | 'integer' | 'real' | 'blob';
  nullable: boolean;
}
interface ManifestTable {
  name: string;
  syncKeyColumnName: string;
  primaryKey: string[];
  columns: ManifestColumn[];
  foreignKeys: { from: string; toTable: string; toColumn: string; onDelete?: string }[];
}
interface NumericScenario {
  name: string;
  local: Record<string, string>;
  committed: Record<string, string>;
}

const available = contractsAvailable();
const manifest = available
  ? (loadContract('rich-schema/business-rich-v0.json') as {
      schema: string;
      tables: ManifestTable[];
      numericScenarios: NumericScenario[];
    })
  : undefined;

describe.skipIf(!available)(
  available ? 'rich-schema manifest (business-rich-v0)' : FIXTURES_ABSENT,
  () => {
    if (!manifest) {
      it('needs ../shared/contracts/oversqlite', () => {});
      return;
    }
    const files = new TempFiles();
    afterAll(() => files.cleanup());

    it('the e2e local schema is the manifest, as the client introspects it', async () => {
      expect(SYNC_SCHEMA).toBe(manifest.schema);
      expect([...SYNC_TABLES.map((t) => t.tableName)].sort()).toEqual(
        manifest.tables.map((t) => t.name).sort(),
      );
      const { createBetterSqlite3Driver } = await import('@oversync/driver-better-sqlite3');
      const { LOCAL_SCHEMA_SQL } = await import('./support/local-schema.js');
      const db = createBetterSqlite3Driver({ filename: files.file('manifest') });
      try {
        await db.exec(LOCAL_SCHEMA_SQL);
        for (const t of manifest.tables) {
          const info = await readTableInfo(db, t.name);
          expect(info, t.name).toBeDefined();
          if (!info) continue;
          const kind = (k: string): string => (k === 'uuid_blob' ? 'blob' : k);
          expect(
            info.columns.map((c) => ({
              name: c.name,
              logicalType: kind(c.kind),
              nullable: !c.notNull,
            })),
            t.name,
          ).toEqual(t.columns);
          expect(
            info.columns.filter((c) => c.primaryKeyPosition > 0).map((c) => c.name),
            t.name,
          ).toEqual(t.primaryKey);
          const fks = await db.all<{ from: string; table: string; to: string; on_delete: string }>(
            `SELECT "from", "table", "to", on_delete FROM pragma_foreign_key_list(?)`,
            [t.name],
          );
          expect(
            fks
              .map((f) => ({
                from: f.from,
                toTable: f.table,
                toColumn: f.to,
                onDelete: f.on_delete,
              }))
              .sort((a, b) => a.from.localeCompare(b.from)),
            t.name,
          ).toEqual(
            t.foreignKeys.map((f) => ({ ...f })).sort((a, b) => a.from.localeCompare(b.from)),
          );
        }
      } finally {
        await db.close();
      }
    });

    describe.each(BACKENDS)('numericScenarios through our server [%s]', (backend) => {
      let server: E2eServer;
      const open: Device[] = [];
      beforeAll(async () => {
        server = await startE2eServer(backend);
      });
      afterAll(async () => {
        for (const d of open) await d.close();
        await server?.close();
      });

      for (const scenario of manifest.numericScenarios) {
        it(scenario.name, async () => {
          const user = uniqueUser('numeric');
          const d = await Device.open(server, {
            user,
            file: files.file(`num-${scenario.name}`),
            label: 'num',
          });
          open.push(d);
          await d.attach();
          const id = newId();
          const values = { enabled_flag: '0', ...scenario.local };
          const cols = Object.keys(values);
          // Bound as text: SQLite's column affinity converts exactly as an app's literal would.
          await d.run(
            `INSERT INTO typed_rows(id, name, ${cols.join(', ')}) VALUES (?, 'numeric', ${cols.map(() => '?').join(', ')})`,
            [id, ...cols.map((c) => values[c as keyof typeof values] as string)],
          );
          const report = await d.client.sync();
          expect(report.push.outcome).toBe('committed');
          const seq = report.push.bundleSeq as number;
          const res = await server.t.req('GET', `/sync/committed-bundles/${seq}/rows?max_rows=10`, {
            user,
            source: crypto.randomUUID(),
          });
          expect(res.status).toBe(200);
          const payload = (res.json as { rows: { payload: Record<string, unknown> }[] }).rows[0]
            ?.payload;
          for (const [col, spelling] of Object.entries(scenario.committed)) {
            expect(String(payload?.[col]), col).toBe(spelling);
            // The replayed local row holds the committed value.
            const local = await d.driver.get<{ v: SqlValue; t: string }>(
              `SELECT ${col} AS v, typeof(${col}) AS t FROM typed_rows WHERE id = ?`,
              [id],
            );
            if (spelling === 'true' || spelling === 'false') {
              expect(local?.v, col).toBe(spelling === 'true' ? 1 : 0);
            } else if (local?.t === 'real') {
              expect(
                Object.is(local.v, Number(spelling)) || (local.v === 0 && Number(spelling) === 0),
                col,
              ).toBe(true);
            } else {
              expect(String(local?.v), col).toBe(spelling);
            }
          }
        });
      }
    });
  },
);
