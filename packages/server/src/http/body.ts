import { SyncError } from '@oversync/protocol';

/**
 * Reads a request body as JSON with a byte limit. `allowEmpty` returns undefined for an
 * empty body (plain snapshot create); otherwise an empty body is invalid JSON.
 */
export async function readJsonBody(
  request: Request,
  maxBytes: number,
  options: {
    allowEmpty?: boolean;
    invalidCode?: 'invalid_request' | 'snapshot_session_invalid';
  } = {},
): Promise<unknown> {
  const text = await readBodyText(request, maxBytes, options.invalidCode);
  const code = options.invalidCode ?? 'invalid_request';
  if (text.trim() === '') {
    if (options.allowEmpty) return undefined;
    throw new SyncError(code, 'request body must be JSON');
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new SyncError(code, 'request body is not valid JSON');
  }
}

/**
 * Reads a request body as UTF-8 text with a byte limit (413 `payload_too_large` beyond it).
 *
 * @example
 * ```ts
 * const text = await readBodyText(request, 1 << 20);
 * ```
 */
export async function readBodyText(
  request: Request,
  maxBytes: number,
  invalidCode: 'invalid_request' | 'snapshot_session_invalid' = 'invalid_request',
): Promise<string> {
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > maxBytes) {
    throw new SyncError('payload_too_large', `request body exceeds ${maxBytes} bytes`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (request.body) {
    const reader = request.body.getReader();
    for (;;) {
      let step: ReadableStreamReadResult<Uint8Array>;
      try {
        step = await reader.read();
      } catch {
        throw new SyncError(invalidCode, 'request body could not be read');
      }
      const { done, value } = step;
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw new SyncError('payload_too_large', `request body exceeds ${maxBytes} bytes`);
      }
      chunks.push(value);
    }
  }
  return new TextDecoder('utf-8', { fatal: false }).decode(Buffer.concat(chunks));
}
