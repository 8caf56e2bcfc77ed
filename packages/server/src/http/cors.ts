/** CORS configuration: `'*'` or an allow-list of origins; `false` disables CORS headers. */
export type CorsOptions = { origins: '*' | readonly string[] } | false;

const ALLOW_HEADERS = 'Authorization, Content-Type, Oversync-Source-ID, Accept-Encoding';
const ALLOW_METHODS = 'GET, POST, DELETE, OPTIONS';

/** CORS headers for a request, or none when the origin is not allowed. */
export function corsHeaders(cors: CorsOptions, request: Request): Record<string, string> {
  if (!cors) return {};
  const origin = request.headers.get('origin');
  let allow: string | undefined;
  if (cors.origins === '*') allow = '*';
  else if (origin && cors.origins.includes(origin)) allow = origin;
  if (!allow) return {};
  const h: Record<string, string> = {
    'Access-Control-Allow-Origin': allow,
    'Access-Control-Allow-Headers': ALLOW_HEADERS,
    'Access-Control-Allow-Methods': ALLOW_METHODS,
    'Access-Control-Expose-Headers': 'Retry-After, WWW-Authenticate',
    'Access-Control-Max-Age': '600',
  };
  if (allow !== '*') h.Vary = 'Origin';
  return h;
}
