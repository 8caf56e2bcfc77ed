import { type ErrorCode, SyncError } from '@oversync/protocol';

/** A JSON response from already-serialised text. */
export function jsonText(
  text: string,
  status = 200,
  headers: Record<string, string> = {},
): Response {
  return new Response(text, {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

/** The protocol error body for a {@link SyncError}. */
export function errorResponse(err: SyncError): Response {
  const headers: Record<string, string> = { ...err.headers };
  if (err.code === 'authentication_failed') headers['WWW-Authenticate'] = 'Bearer';
  return jsonText(JSON.stringify(err.toWire()), err.status, headers);
}

/** Shorthand for an error response by code. */
export function errorOf(code: ErrorCode, message: string): Response {
  return errorResponse(new SyncError(code, message));
}
