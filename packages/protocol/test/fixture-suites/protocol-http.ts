/** Fixture `protocol-http/requests.json`: request shapes against ENDPOINTS and request schemas. */

import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import {
  ConnectRequestSchema,
  ENDPOINTS,
  type EndpointSpec,
  isCanonicalInt64String,
  isValidSourceId,
  PushSessionChunkRequestSchema,
  PushSessionCreateRequestSchema,
  SnapshotSessionCreateRequestSchema,
} from '../../src/index.js';
import { readFixture } from '../support/fixtures.js';

interface RequestCase {
  name: string;
  operation: string;
  sourceId: string;
  expected: {
    method: string;
    path: string;
    query: Record<string, string>;
    sourceHeader: string;
    body: Record<string, unknown> | null;
    bodyMustNotContain?: string[];
  };
}

interface RequestsFixture {
  baseUri: string;
  cases: RequestCase[];
}

/** Request schema per fixture operation that carries a body. */
const BODY_SCHEMAS: Record<string, v.GenericSchema> = {
  connect: ConnectRequestSchema,
  pushSessionCreate: PushSessionCreateRequestSchema,
  pushSessionChunk: PushSessionChunkRequestSchema,
  sourceReplacement: SnapshotSessionCreateRequestSchema,
};

/** Finds the endpoint whose method and path template match a concrete request. */
function matchEndpoint(method: string, path: string): EndpointSpec | undefined {
  return (ENDPOINTS as readonly EndpointSpec[]).find((e) => {
    if (e.method !== method) return false;
    const pattern = new RegExp(`^${e.path.replace(/\{[a-z_]+\}/g, '[^/]+')}$`);
    return pattern.test(path);
  });
}

export function describeProtocolHttpFixture(): void {
  const fx = readFixture<RequestsFixture>('protocol-http/requests.json');
  const basePath = new URL(fx.baseUri).pathname.replace(/\/$/, '');

  describe('protocol-http: requests', () => {
    it.each(fx.cases)('$name maps to a declared endpoint', (c) => {
      expect(c.expected.path.startsWith(`${basePath}/`)).toBe(true);
      const endpoint = matchEndpoint(c.expected.method, c.expected.path.slice(basePath.length));
      expect(endpoint, `${c.expected.method} ${c.expected.path}`).toBeDefined();
      const declared = new Set(endpoint?.query.map((q) => q.name));
      for (const name of Object.keys(c.expected.query)) expect(declared).toContain(name);
      expect(c.expected.sourceHeader).toBe(c.sourceId);
      expect(isValidSourceId(c.expected.sourceHeader)).toBe(true);
    });

    const withBody = fx.cases.filter((c) => c.expected.body !== null);
    const withoutBody = fx.cases.filter((c) => c.expected.body === null);

    it('covers every body-carrying operation with a schema', () => {
      expect(withBody.map((c) => c.operation).sort()).toEqual(Object.keys(BODY_SCHEMAS).sort());
    });

    describe('bodies decode with their request schema', () => {
      it.each(withBody)('$name', (c) => {
        const schema = BODY_SCHEMAS[c.operation];
        expect(schema, c.operation).toBeDefined();
        const result = v.safeParse(schema as v.GenericSchema, c.expected.body);
        expect(result.issues).toBeUndefined();
        // Nothing the client sends may be dropped by decoding.
        expect(result.output).toEqual(c.expected.body);
        expect(Object.keys(c.expected.body ?? {})).not.toContain('source_id');
        for (const forbidden of c.expected.bodyMustNotContain ?? []) {
          expect(Object.keys(c.expected.body ?? {})).not.toContain(forbidden);
        }
        const endpoint = matchEndpoint(c.expected.method, c.expected.path.slice(basePath.length));
        expect(endpoint?.request).toBe(schema);
      });
    });

    describe('bodiless requests carry canonical decimal query values', () => {
      it.each(withoutBody)('$name', (c) => {
        expect(c.expected.body).toBeNull();
        for (const value of Object.values(c.expected.query)) {
          expect(isCanonicalInt64String(value), value).toBe(true);
          expect(BigInt(value) >= 0n).toBe(true);
        }
        const endpoint = matchEndpoint(c.expected.method, c.expected.path.slice(basePath.length));
        // A bodiless POST (commit, plain snapshot) must be allowed by the endpoint table.
        expect(endpoint?.requestRequired).toBe(false);
      });
    });
  });
}
