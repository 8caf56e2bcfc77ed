/** Fixture `watch/basic.json`: watch capabilities, SSE framing, setup error bodies. */

import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import {
  CapabilitiesResponseSchema,
  createSseParser,
  ERROR_STATUS,
  ErrorBodySchema,
  parseWatchEvent,
  type WatchEvent,
} from '../../src/index.js';
import { readFixture } from '../support/fixtures.js';

interface WatchFixture {
  capabilitiesCases: {
    name: string;
    response: { status: number; body: unknown };
    expectedBundleChangeWatchSupported: boolean;
  }[];
  sseCases: { name: string; lines: string[]; expectedEvents?: unknown[]; expectError?: boolean }[];
  setupErrorResponses: { status: number; body: unknown; expectedError: string }[];
  runtimeCases: { name: string; response: { status: number; body: unknown } }[];
}

/** Runs the lines through the parser as a stream would deliver them, decoding bundle events. */
function decodeLines(lines: readonly string[]): WatchEvent[] {
  const events: WatchEvent[] = [];
  const parser = createSseParser((e) => {
    if (e.event === 'bundle') events.push(parseWatchEvent(e.data));
  });
  for (const line of lines) parser.push(`${line}\n`);
  parser.end();
  return events;
}

export function describeWatchFixture(): void {
  const fx = readFixture<WatchFixture>('watch/basic.json');

  describe('watch: basic', () => {
    describe('capabilities', () => {
      it.each(fx.capabilitiesCases)('$name', (c) => {
        const caps = v.parse(CapabilitiesResponseSchema, c.response.body);
        expect(caps.features.bundle_change_watch === true).toBe(
          c.expectedBundleChangeWatchSupported,
        );
      });
    });

    describe('sse', () => {
      it.each(fx.sseCases)('$name', (c) => {
        if (c.expectError === true) {
          expect(() => decodeLines(c.lines)).toThrow();
        } else {
          expect(decodeLines(c.lines)).toEqual(c.expectedEvents);
        }
      });
    });

    describe('setup error bodies', () => {
      it.each(fx.setupErrorResponses)('$expectedError', (c) => {
        const body = v.parse(ErrorBodySchema, c.body);
        expect(body.error).toBe(c.expectedError);
        expect(ERROR_STATUS[body.error]).toBe(c.status);
      });
    });

    describe('runtime error bodies', () => {
      it.each(fx.runtimeCases)('$name', (c) => {
        const body = v.parse(ErrorBodySchema, c.response.body);
        expect(ERROR_STATUS[body.error]).toBe(c.response.status);
      });
    });
  });
}
