-- Server-side tables of the node-todo example (PostgreSQL). `oversync dev --config
-- oversync.config.json` runs this file on every start, so it must be idempotent.
--
-- Requirements of a synced table (README "Table requirements"):
--   * a hidden owner column `_sync_scope_id text NOT NULL` (the user id; filled in by the
--     server, never sent to clients);
--   * one visible sync key column (`id`, text or uuid, NOT NULL);
--   * a primary key (or unique index) exactly on (_sync_scope_id, id).
--
-- The client's SQLite table (see todo.js) has the same visible columns:
--   todos(id TEXT PRIMARY KEY NOT NULL, title TEXT NOT NULL, done INTEGER NOT NULL DEFAULT 0,
--         updated_at TEXT NOT NULL)
CREATE SCHEMA IF NOT EXISTS todo;

CREATE TABLE IF NOT EXISTS todo.todos (
  _sync_scope_id TEXT NOT NULL,
  id TEXT NOT NULL,
  title TEXT NOT NULL,
  done INTEGER NOT NULL DEFAULT 0,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (_sync_scope_id, id)
);
