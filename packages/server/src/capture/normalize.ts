/** Operation codes stored in the sync tables. */
export const OP_INSERT = 1;
export const OP_UPDATE = 2;
export const OP_DELETE = 3;
export type OpCode = 1 | 2 | 3;

/** Wire names of the operation codes. */
export const OP_NAMES = { 1: 'INSERT', 2: 'UPDATE', 3: 'DELETE' } as const;

/** One captured row change, in capture order. */
export interface CapturedEvent {
  tableId: number;
  op: OpCode;
  key: string;
  payload: string | null;
}

/** One effect of a bundle: the net change of one row. */
export interface BundleEffect {
  tableId: number;
  op: OpCode;
  key: string;
  /** Canonical payload JSON; null for DELETE. */
  payload: string | null;
}

/**
 * Collapses the captured events of one transaction into one effect per row.
 *
 * The first and the last event of a row decide: inserted then deleted → nothing;
 * last DELETE → DELETE; first INSERT → INSERT with the last image; otherwise UPDATE
 * with the last image. Effects keep the order in which each row was first touched.
 */
export function normalizeCaptured(events: readonly CapturedEvent[]): BundleEffect[] {
  const byRow = new Map<
    string,
    { tableId: number; key: string; first: OpCode; last: OpCode; payload: string | null }
  >();
  for (const e of events) {
    const id = `${e.tableId}\u0000${e.key}`;
    const seen = byRow.get(id);
    if (seen) {
      seen.last = e.op;
      seen.payload = e.payload;
    } else {
      byRow.set(id, {
        tableId: e.tableId,
        key: e.key,
        first: e.op,
        last: e.op,
        payload: e.payload,
      });
    }
  }
  const out: BundleEffect[] = [];
  for (const r of byRow.values()) {
    if (r.first === OP_INSERT && r.last === OP_DELETE) continue;
    if (r.last === OP_DELETE)
      out.push({ tableId: r.tableId, op: OP_DELETE, key: r.key, payload: null });
    else if (r.first === OP_INSERT)
      out.push({ tableId: r.tableId, op: OP_INSERT, key: r.key, payload: r.payload });
    else out.push({ tableId: r.tableId, op: OP_UPDATE, key: r.key, payload: r.payload });
  }
  return out;
}
