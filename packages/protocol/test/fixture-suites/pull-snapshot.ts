/** Fixture `pull-snapshot/basic.json`: pull, snapshot and recovery bodies; snapshot byte_count. */

import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import {
  ADOPTION_SOURCE_PREFIX,
  ERROR_STATUS,
  ErrorBodySchema,
  isCanonicalUuid,
  PullResponseSchema,
  type SnapshotChunkResponse,
  SnapshotChunkResponseSchema,
  type SnapshotRow,
  SnapshotSessionCreateRequestSchema,
  SnapshotSessionSchema,
  snapshotRowByteCount,
} from '../../src/index.js';
import { readFixture } from '../support/fixtures.js';

type PullSnapshotCase = { name: string } & Record<string, unknown>;

/** Which schema decodes which fixture member. */
const MEMBER_SCHEMAS: Record<string, v.GenericSchema> = {
  pullResponse: PullResponseSchema,
  snapshotSession: SnapshotSessionSchema,
  snapshotChunkResponse: SnapshotChunkResponseSchema,
  snapshotSessionCreateRequest: SnapshotSessionCreateRequestSchema,
};

/** Members holding `{status, body}` error responses. */
const ERROR_MEMBERS = new Set([
  'historyPrunedResponse',
  'checkpointAheadResponse',
  'sourceReplacementInvalidResponse',
]);

const NON_WIRE_MEMBERS = new Set([
  'name',
  'afterBundleSeq',
  'expectedFinalState',
  'snapshotChunkAfterRowOrdinal',
]);

/**
 * Validation-only cases pin client-side semantic checks (row_version > 0, no `_sync_scope_id`,
 * stable ceiling ordering, RFC 3339 expiry, chunk/session consistency). Those checks belong to a
 * client, not to wire decoding, so their bodies are not required to decode here.
 */
function isValidationOnly(c: PullSnapshotCase): boolean {
  return Object.keys(c).some((member) => /^expected.*ErrorContains$/.test(member));
}

export function describePullSnapshotFixture(): void {
  const fx = readFixture<{ cases: PullSnapshotCase[] }>('pull-snapshot/basic.json');
  const validCases = fx.cases.filter((c) => !isValidationOnly(c));
  const bodies = validCases.flatMap((c) =>
    Object.entries(c)
      .filter(([member]) => !NON_WIRE_MEMBERS.has(member))
      .map(([member, body]) => ({ label: `${c.name} ${member}`, member, body })),
  );

  describe('pull-snapshot: basic', () => {
    it('has validation-only cases that are skipped for decoding', () => {
      expect(fx.cases.length).toBeGreaterThan(validCases.length);
    });

    it.each(bodies)('$label decodes', ({ member, body }) => {
      if (ERROR_MEMBERS.has(member)) {
        const { status, body: errorBody } = body as { status: number; body: unknown };
        const decoded = v.parse(ErrorBodySchema, errorBody);
        expect(status).toBe(ERROR_STATUS[decoded.error]);
        return;
      }
      const schema = MEMBER_SCHEMAS[member];
      expect(schema, `no schema for fixture member ${member}`).toBeDefined();
      const result = v.safeParse(schema as v.GenericSchema, body);
      expect(result.issues).toBeUndefined();
      expect(result.output).toEqual(body);
    });

    it('the adoption baseline bundle uses the adoption source prefix', () => {
      const c = fx.cases.find((x) => x.name === 'populated-adoption-baseline');
      const pull = v.parse(PullResponseSchema, c?.pullResponse);
      const sourceId = pull.bundles[0]?.source_id ?? '';
      expect(sourceId.startsWith(ADOPTION_SOURCE_PREFIX)).toBe(true);
      expect(isCanonicalUuid(sourceId.slice(ADOPTION_SOURCE_PREFIX.length))).toBe(true);
    });

    const chunkCases = fx.cases.filter(
      (c) => ((c.snapshotChunkResponse as SnapshotChunkResponse | undefined)?.rows.length ?? 0) > 0,
    );

    describe('snapshot byte_count is the sum of canonical row UTF-8 lengths', () => {
      it.each(chunkCases)('$name', (c) => {
        const chunk = c.snapshotChunkResponse as SnapshotChunkResponse;
        const total = chunk.rows.reduce(
          (sum: number, row: SnapshotRow) => sum + snapshotRowByteCount(row),
          0,
        );
        expect(total).toBe(chunk.byte_count);
        if (!isValidationOnly(c)) {
          const session = v.parse(SnapshotSessionSchema, c.snapshotSession);
          expect(session.byte_count).toBe(total);
          expect(session.row_count).toBe(chunk.rows.length);
        }
      });
    });
  });
}
