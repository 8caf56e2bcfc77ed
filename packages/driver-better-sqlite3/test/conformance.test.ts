import { fromSyncConnection } from '@oversync/client';
import {
  createBetterSqlite3Driver,
  openBetterSqlite3Connection,
} from '@oversync/driver-better-sqlite3';
import { describeDriverConformance } from '@oversync/test-kit';
import Database from 'better-sqlite3';

describeDriverConformance('better-sqlite3 in-thread', (filename) =>
  createBetterSqlite3Driver({ filename }),
);

describeDriverConformance('better-sqlite3 worker', (filename) =>
  createBetterSqlite3Driver({ filename, worker: true }),
);

describeDriverConformance('fromSyncConnection(openBetterSqlite3Connection)', (filename) =>
  fromSyncConnection(openBetterSqlite3Connection({ filename })),
);

// `{ database }` leaves the database to its owner, so the suite closes it with the driver.
describeDriverConformance('better-sqlite3 on an existing Database', (filename) => {
  const database = new Database(filename);
  database.pragma('journal_mode = WAL');
  const driver = createBetterSqlite3Driver({ database, busyTimeoutMs: 5000 });
  return {
    ...driver,
    close: async () => {
      await driver.close();
      if (database.open) database.close();
    },
  };
});
