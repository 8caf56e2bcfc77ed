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
        throw new SyncError(
          options.invalidCode ?? 'invalid_request',
          'request body could not be read',
        );
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
  const text = new TextDecoder('utf-8', { fatal: false }).decode(Buffer.concat(chunks));
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
