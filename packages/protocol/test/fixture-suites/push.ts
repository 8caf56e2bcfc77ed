/** Fixture `push/basic-insert.json`: push request and response bodies. */

import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import {
  CommittedBundleRowsResponseSchema,
  ErrorBodySchema,
  PushChunkResponseSchema,
  PushCommitResponseSchema,
  PushConflictBodySchema,
  PushSessionChunkRequestSchema,
  PushSessionCreateRequestSchema,
  PushSessionCreateResponseSchema,
} from '../../src/index.js';
import { readFixture } from '../support/fixtures.js';

interface PushFixture {
  cases: ({ name: string } & Record<string, unknown>)[];
}

/** Which schema decodes which fixture member. */
const MEMBER_SCHEMAS: Record<string, v.GenericSchema> = {
  pushSessionCreateRequest: PushSessionCreateRequestSchema,
  pushSessionCreateResponse: PushSessionCreateResponseSchema,
  pushChunkRequest: PushSessionChunkRequestSchema,
  pushChunkResponse: PushChunkResponseSchema,
  pushCommitResponse: PushCommitResponseSchema,
  committedBundleRowsResponse: CommittedBundleRowsResponseSchema,
  pushConflictResponse: PushConflictBodySchema,
};

/** Members that describe client-side outcomes rather than wire bodies. */
const NON_WIRE_MEMBERS = new Set(['name', 'expectedFinalState', 'localWrite']);

export function describePushFixture(): void {
  const fx = readFixture<PushFixture>('push/basic-insert.json');
  const bodies = fx.cases.flatMap((c) =>
    Object.entries(c)
      .filter(([member]) => !NON_WIRE_MEMBERS.has(member))
      .map(([member, body]) => ({ label: `${c.name} ${member}`, member, body })),
  );

  describe('push: basic-insert', () => {
    it.each(bodies)('$label decodes', ({ member, body }) => {
      const schema = MEMBER_SCHEMAS[member];
      expect(schema, `no schema for fixture member ${member}`).toBeDefined();
      const result = v.safeParse(schema as v.GenericSchema, body);
      expect(result.issues).toBeUndefined();
      expect(result.output).toEqual(body);
      if (member === 'pushConflictResponse') {
        expect(v.is(ErrorBodySchema, body)).toBe(true);
      }
    });

    it('a staging response and an already-committed response are told apart by status', () => {
      const statuses = fx.cases
        .map((c) => c.pushSessionCreateResponse)
        .filter((b) => b !== undefined)
        .map((b) => v.parse(PushSessionCreateResponseSchema, b).status);
      expect(statuses.sort()).toEqual(['already_committed', 'staging']);
    });
  });
}
