/**
 * A minimal Server-Sent-Events reader for watch tests.
 *
 * @module
 */

/** One dispatched SSE event. */
export interface SseEvent {
  event: string;
  data: string;
}

/** Reads SSE frames from a streaming Response body. */
export class SseReader {
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();
  private buffer = '';
  private pending: SseEvent[] = [];
  /** Comment lines seen (e.g. heartbeats), without the leading `:`. */
  readonly comments: string[] = [];
  /** True once the stream has ended. */
  ended = false;
  private reading: Promise<ReadableStreamReadResult<Uint8Array>> | undefined;

  constructor(body: ReadableStream<Uint8Array>) {
    this.reader = body.getReader();
  }

  private parse(): void {
    for (;;) {
      const idx = this.buffer.search(/\r?\n\r?\n/);
      if (idx < 0) return;
      const block = this.buffer.slice(0, idx);
      const sep = /\r?\n\r?\n/.exec(this.buffer.slice(idx));
      this.buffer = this.buffer.slice(idx + (sep?.[0].length ?? 2));
      let event = 'message';
      const data: string[] = [];
      let hasField = false;
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith(':')) {
          this.comments.push(line.slice(1).trim());
          continue;
        }
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'event') {
          event = value;
          hasField = true;
        } else if (field === 'data') {
          data.push(value);
          hasField = true;
        }
      }
      if (hasField) this.pending.push({ event, data: data.join('\n') });
    }
  }

  /**
   * Resolves with the next event, `null` when the stream ends first, or rejects after
   * `timeoutMs`.
   */
  async next(timeoutMs = 5000): Promise<SseEvent | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const ev = this.pending.shift();
      if (ev) return ev;
      if (this.ended) return null;
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`SSE: no event within ${timeoutMs} ms`);
      this.reading ??= this.reader.read();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), remaining);
      });
      const r = await Promise.race([this.reading, timeout]);
      clearTimeout(timer);
      if (r === 'timeout') throw new Error(`SSE: no event within ${timeoutMs} ms`);
      this.reading = undefined;
      if (r.done) {
        this.ended = true;
        this.buffer += this.decoder.decode();
        this.parse();
        continue;
      }
      this.buffer += this.decoder.decode(r.value, { stream: true });
      this.parse();
    }
  }

  /**
   * Resolves with the first comment line matching `pattern` (e.g. a heartbeat), reading and
   * keeping any events that arrive meanwhile; rejects after `timeoutMs`.
   */
  async waitComment(pattern: RegExp, timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.comments.find((c) => pattern.test(c));
      if (hit !== undefined) return hit;
      if (this.ended) throw new Error('SSE: stream ended before the comment');
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`SSE: no comment ${pattern} within ${timeoutMs} ms`);
      this.reading ??= this.reader.read();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), remaining);
      });
      const r = await Promise.race([this.reading, timeout]);
      clearTimeout(timer);
      if (r === 'timeout') continue;
      this.reading = undefined;
      if (r.done) {
        this.ended = true;
        this.buffer += this.decoder.decode();
      } else {
        this.buffer += this.decoder.decode(r.value, { stream: true });
      }
      this.parse();
    }
  }

  /** Waits for the next `event: bundle` and returns its decoded data. */
  async nextBundle(timeoutMs = 5000): Promise<{ bundle_seq: number; [k: string]: unknown }> {
    for (;;) {
      const ev = await this.next(timeoutMs);
      if (ev === null) throw new Error('SSE: stream ended before a bundle event');
      if (ev.event === 'bundle') return JSON.parse(ev.data);
    }
  }

  /** Resolves true when the stream ends within `timeoutMs` (events before the end are dropped). */
  async waitEnd(timeoutMs = 5000): Promise<boolean> {
    try {
      for (;;) {
        const ev = await this.next(timeoutMs);
        if (ev === null) return true;
      }
    } catch {
      return false;
    }
  }

  /** Cancels the stream. */
  async close(): Promise<void> {
    try {
      await this.reader.cancel();
    } catch {
      // already closed
    }
  }
}
