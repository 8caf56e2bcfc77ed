/**
 * Incremental Server-Sent Events parsing for `GET /sync/watch`.
 *
 * Only what the watch stream uses is interpreted (`event`, `data`, comments); it is fed text
 * chunks as they arrive, so frames may be split anywhere, even inside a CRLF.
 *
 * @module
 */

import * as v from 'valibot';
import { type WatchEvent, WatchEventSchema } from './messages/watch.js';

/**
 * One dispatched SSE event: its `event` field (default `message`) and its joined `data` lines.
 *
 * @example
 * ```ts
 * const e: SseEvent = { event: 'bundle', data: '{"bundle_seq":1}' };
 * ```
 */
export interface SseEvent {
  event: string;
  data: string;
}

/**
 * A push-driven SSE parser.
 *
 * @example
 * ```ts
 * const parser: SseParser = createSseParser(console.log);
 * parser.push('event: bundle\ndata: {"bundle_seq":1}\n\n');
 * parser.end();
 * ```
 */
export interface SseParser {
  /** Feeds the next decoded text chunk. */
  push(chunk: string): void;
  /** Ends the stream: a trailing unterminated line is processed, an undispatched event dropped. */
  end(): void;
}

/**
 * Options of {@link createSseParser}.
 *
 * @example
 * ```ts
 * const options: SseParserOptions = { maxBufferedChars: 1 << 20 };
 * ```
 */
export interface SseParserOptions {
  /**
   * Upper bound on buffered characters (pending line plus pending data). A server that never
   * ends a line must not grow client memory without limit; the Kotlin client stops at 1 MiB.
   * Default 1 048 576.
   */
  maxBufferedChars?: number;
  /**
   * Called with the text of every comment line (`:` lines, without the colon). Servers send them
   * as heartbeats; a client can use them to know the stream is alive.
   */
  onComment?: (text: string) => void;
}

/**
 * Creates an incremental SSE parser: lines end with LF, CRLF or CR; lines starting with `:` are
 * comments; `event:` and `data:` values lose one leading space; several `data:` lines are joined
 * with `\n`; a blank line dispatches the pending event if it has data (as the SSE standard and
 * the Go client do). `id:` and `retry:` are ignored because the protocol never sends them.
 *
 * Throws a `RangeError` from `push` when the buffered text exceeds `maxBufferedChars`.
 *
 * @example
 * ```ts
 * const parser = createSseParser((e) => {
 *   if (e.event === 'bundle') void pull(parseWatchEvent(e.data).bundle_seq);
 * });
 * for await (const chunk of body.pipeThrough(new TextDecoderStream())) parser.push(chunk);
 * parser.end();
 * ```
 */
export function createSseParser(
  onEvent: (e: SseEvent) => void,
  options: SseParserOptions = {},
): SseParser {
  const maxBuffered = options.maxBufferedChars ?? 1_048_576;
  let pending = '';
  let eventType = '';
  let dataLines: string[] = [];
  let dataLength = 0;
  let atStreamStart = true;
  // A chunk ending in CR may be the first half of CRLF; the LF that follows must not be read as a
  // second (blank) line, which would dispatch early.
  let skipLeadingLf = false;

  const processLine = (line: string): void => {
    if (line === '') {
      if (dataLines.length > 0) {
        onEvent({ event: eventType === '' ? 'message' : eventType, data: dataLines.join('\n') });
      }
      eventType = '';
      dataLines = [];
      dataLength = 0;
      return;
    }
    if (line.startsWith(':')) {
      options.onComment?.(line.slice(1));
      return;
    }
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') {
      eventType = value;
    } else if (field === 'data') {
      dataLines.push(value);
      dataLength += value.length + 1;
    }
  };

  return {
    push(chunk: string): void {
      let text = chunk;
      if (atStreamStart && text.length > 0) {
        atStreamStart = false;
        if (text.startsWith('\ufeff')) text = text.slice(1);
      }
      if (skipLeadingLf && text.length > 0) {
        skipLeadingLf = false;
        if (text.startsWith('\n')) text = text.slice(1);
      }
      let buffer = pending + text;
      let start = 0;
      for (let i = 0; i < buffer.length; i++) {
        const c = buffer.charCodeAt(i);
        if (c !== 0x0a && c !== 0x0d) continue;
        processLine(buffer.slice(start, i));
        if (c === 0x0d) {
          if (i + 1 < buffer.length) {
            if (buffer.charCodeAt(i + 1) === 0x0a) i++;
          } else {
            skipLeadingLf = true;
          }
        }
        start = i + 1;
      }
      buffer = buffer.slice(start);
      if (buffer.length + dataLength > maxBuffered) {
        throw new RangeError(`SSE stream buffered more than ${maxBuffered} characters`);
      }
      pending = buffer;
    },
    end(): void {
      if (pending !== '') processLine(pending);
      pending = '';
      eventType = '';
      dataLines = [];
      dataLength = 0;
    },
  };
}

/**
 * Decodes the data of an `event: bundle` frame. Throws an `Error` for malformed JSON, a missing
 * or non-positive `bundle_seq`, or an invalid source member; unknown members are ignored.
 *
 * @example
 * ```ts
 * parseWatchEvent('{"bundle_seq":124,"source_id":"device-a","source_bundle_id":7}');
 * // { bundle_seq: 124, source_id: 'device-a', source_bundle_id: 7 }
 * ```
 */
export function parseWatchEvent(data: string): WatchEvent {
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch (cause) {
    throw new Error('watch event data is not valid JSON', { cause });
  }
  const result = v.safeParse(WatchEventSchema, json);
  if (!result.success) {
    const issue = result.issues[0];
    const where = issue.path?.map((p) => String(p.key)).join('.') ?? 'event';
    throw new Error(`invalid watch event: ${where}: ${issue.message}`);
  }
  return result.output;
}
