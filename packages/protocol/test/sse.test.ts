import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { createSseParser, parseWatchEvent, type SseEvent } from '../src/index.js';

function parseAll(chunks: readonly string[]): SseEvent[] {
  const events: SseEvent[] = [];
  const parser = createSseParser((e) => events.push(e));
  for (const chunk of chunks) parser.push(chunk);
  parser.end();
  return events;
}

const STREAM =
  ': heartbeat\n\n' +
  'event: bundle\ndata: {"bundle_seq":1}\n\n' +
  'event: bundle\r\ndata: {"bundle_seq":\r\ndata:2}\r\n\r\n' +
  'data: plain\rdata:  two spaces\r\r' +
  'id: 7\nretry: 10\nevent: bundle\ndata\n\n';

const EXPECTED: SseEvent[] = [
  { event: 'bundle', data: '{"bundle_seq":1}' },
  { event: 'bundle', data: '{"bundle_seq":\n2}' },
  { event: 'message', data: 'plain\n two spaces' },
  { event: 'bundle', data: '' },
];

describe('createSseParser', () => {
  it('handles comments, LF/CRLF/CR endings, multi-line data and field defaults', () => {
    expect(parseAll([STREAM])).toEqual(EXPECTED);
  });

  test.prop([fc.array(fc.nat({ max: STREAM.length }), { maxLength: 12 })])(
    'gives the same events however the stream is split',
    (cuts) => {
      const points = [...new Set(cuts)].sort((a, b) => a - b);
      const chunks: string[] = [];
      let start = 0;
      for (const p of points) {
        chunks.push(STREAM.slice(start, p));
        start = p;
      }
      chunks.push(STREAM.slice(start));
      expect(parseAll(chunks)).toEqual(EXPECTED);
    },
  );

  it('does not read a CRLF split across chunks as two line ends', () => {
    expect(parseAll(['event: bundle\r', '\ndata: x\r', '\n', '\r\n'])).toEqual([
      { event: 'bundle', data: 'x' },
    ]);
  });

  it('does not dispatch an event without data, nor one cut off by the end of the stream', () => {
    expect(parseAll(['event: bundle\n\n', 'event: bundle\ndata: late'])).toEqual([]);
  });

  it('resets the event type after each dispatch', () => {
    expect(parseAll(['event: diagnostic\ndata: a\n\ndata: b\n\n'])).toEqual([
      { event: 'diagnostic', data: 'a' },
      { event: 'message', data: 'b' },
    ]);
  });

  it('strips a leading byte order mark', () => {
    expect(parseAll(['\ufeffdata: x\n\n'])).toEqual([{ event: 'message', data: 'x' }]);
  });

  it('refuses to buffer without bound', () => {
    const parser = createSseParser(() => {}, { maxBufferedChars: 16 });
    parser.push('data: 0123456789');
    expect(() => parser.push('0123456789')).toThrow(RangeError);
    const many = createSseParser(() => {}, { maxBufferedChars: 16 });
    expect(() => {
      for (let i = 0; i < 10; i++) many.push('data: abc\n');
    }).toThrow(RangeError);
  });
});

describe('parseWatchEvent', () => {
  it('keeps known members and ignores unknown ones', () => {
    expect(parseWatchEvent('{"bundle_seq":3,"source_id":"a","source_bundle_id":2,"x":1}')).toEqual({
      bundle_seq: 3,
      source_id: 'a',
      source_bundle_id: 2,
    });
    expect(parseWatchEvent('{"bundle_seq":3}')).toEqual({ bundle_seq: 3 });
  });

  it.each([
    ['malformed JSON', '{"bundle_seq":'],
    ['a missing bundle_seq', '{"source_id":"a"}'],
    ['bundle_seq 0', '{"bundle_seq":0}'],
    ['a negative bundle_seq', '{"bundle_seq":-1}'],
    ['a fractional bundle_seq', '{"bundle_seq":1.5}'],
    ['a string bundle_seq', '{"bundle_seq":"1"}'],
    ['a non-ASCII source_id', '{"bundle_seq":1,"source_id":"dévice"}'],
    ['an empty source_id', '{"bundle_seq":1,"source_id":""}'],
    ['a non-object', '[1]'],
  ])('throws for %s', (_label, data) => {
    expect(() => parseWatchEvent(data)).toThrow(Error);
  });
});
