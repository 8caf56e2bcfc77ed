/** Smallest body worth compressing. */
const MIN_BYTES = 1024;

/** True when the request accepts gzip (and does not refuse it with q=0). */
export function acceptsGzip(request: Request): boolean {
  const header = request.headers.get('accept-encoding');
  if (!header) return false;
  for (const part of header.split(',')) {
    const [name, ...params] = part.trim().split(';');
    if (name?.trim().toLowerCase() !== 'gzip') continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return !q || Number(q.slice(2)) > 0;
  }
  return false;
}

/** Gzips a buffered JSON response when the client allows it and the body is large enough. */
export async function maybeCompress(request: Request, response: Response): Promise<Response> {
  if (!acceptsGzip(request) || response.body === null) return response;
  const type = response.headers.get('content-type') ?? '';
  if (!type.startsWith('application/json') || response.headers.has('content-encoding'))
    return response;
  const bytes = new Uint8Array(await response.arrayBuffer());
  const headers = new Headers(response.headers);
  headers.append('Vary', 'Accept-Encoding');
  if (bytes.byteLength < MIN_BYTES)
    return new Response(bytes, { status: response.status, headers });
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream('gzip'));
  headers.set('Content-Encoding', 'gzip');
  headers.delete('content-length');
  return new Response(stream, { status: response.status, headers });
}
