/** Fixture `protocol-handshake/connect.json`: capabilities, connect responses, table contract. */

import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import {
  CapabilitiesResponseSchema,
  ConnectResponseSchema,
  compareTableSpecs,
  PROTOCOL_VERSION,
  type TableSpec,
  type TableSpecComparison,
} from '../../src/index.js';
import { readFixture } from '../support/fixtures.js';

interface HandshakeFixture {
  contractCases: {
    name: string;
    localSpecs: TableSpec[];
    advertised?: unknown;
    expected: { kind: TableSpecComparison['kind'] } & Record<string, unknown>;
  }[];
  cases: {
    name: string;
    capabilities: { status: number; body: unknown };
    connect: { status: number; body: unknown } | null;
    local: { hasLocalPendingRows: boolean };
    expected: {
      connectLifecycleSupported: boolean;
      connectCalled: boolean;
      retryAfterSeconds?: number;
      pendingInitializationId?: string;
    };
  }[];
}

export function describeHandshakeFixture(): void {
  const fx = readFixture<HandshakeFixture>('protocol-handshake/connect.json');

  describe('protocol-handshake: capabilities and connect', () => {
    describe('capabilities bodies decode', () => {
      it.each(fx.cases)('$name', (c) => {
        expect(c.capabilities.status).toBe(200);
        const caps = v.parse(CapabilitiesResponseSchema, c.capabilities.body);
        expect(caps.protocol_version).toBe(PROTOCOL_VERSION);
        expect(caps.features.connect_lifecycle === true).toBe(c.expected.connectLifecycleSupported);
      });
    });

    describe('connect bodies decode', () => {
      it.each(fx.cases.filter((c) => c.connect !== null))('$name', (c) => {
        const res = v.parse(ConnectResponseSchema, c.connect?.body);
        expect(c.expected.connectCalled).toBe(true);
        if (c.expected.retryAfterSeconds !== undefined) {
          expect(res.resolution).toBe('retry_later');
          expect(res.retry_after_seconds).toBe(c.expected.retryAfterSeconds);
        }
        if (c.expected.pendingInitializationId !== undefined) {
          expect(res.initialization_id ?? '').toBe(c.expected.pendingInitializationId);
        }
      });
    });

    describe('table contract (compareTableSpecs)', () => {
      it.each(fx.contractCases)('$name', (c) => {
        const result = compareTableSpecs(c.localSpecs, c.advertised);
        if (c.expected.kind === 'invalid') {
          // The fixture pins only the kind; the reason is for humans.
          expect(result.kind).toBe('invalid');
          expect(result).toHaveProperty('reason', expect.any(String));
        } else {
          expect(result).toEqual(c.expected);
        }
      });
    });
  });
}
