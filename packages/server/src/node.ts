/**
 * Node.js adapters for a Web-standard fetch handler such as `SyncService.fetch`.
 *
 * Import from `@oversync/server/node`. The adapters use `getRequestListener` of
 * `@hono/node-server`, so streaming responses (the watch stream) and `request.signal` (aborted when
 * the client disconnects) work. Express and Fastify are not dependencies: their objects are typed
 * structurally.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { getRequestListener } from '@hono/node-server';

/** A Web-standard request handler, e.g. `(request) => service.fetch(request)`. */
export type FetchHandler = (request: Request) => Promise<Response>;

/** A `node:http` request listener. */
export type NodeListener = (request: IncomingMessage, response: ServerResponse) => Promise<void>;

/** Options of {@link toNodeListener}. */
export interface NodeListenerOptions {
  /** Host name used to build the request URL when the request has no `Host` header. */
  hostname?: string;
  /**
   * Whether `@hono/node-server` may replace the global `Request`/`Response` with its faster
   * subclasses (default `true`, Hono's default; instances stay `instanceof` the originals).
   */
  overrideGlobalObjects?: boolean;
  /**
   * Turns an exception thrown by the handler into a response. Default: an empty 500 response
   * (504 for a `TimeoutError`).
   */
  onError?: (error: unknown) => Response | Promise<Response>;
}

/** Options of the framework adapters. */
export interface MountOptions extends NodeListenerOptions {
  /**
   * Path under which the handler's routes live, without a trailing slash: the `basePath` given to
   * `createSyncService` (default `''`, the root).
   */
  basePath?: string;
  /**
   * Path families, relative to `basePath`, that are passed to the handler. Default
   * `['/sync', '/syncx']`, the two families of the sync service.
   */
  paths?: string[];
}

const DEFAULT_PATHS = ['/sync', '/syncx'];

/**
 * Wraps a fetch handler as a `node:http` request listener.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { toNodeListener } from '@oversync/server/node';
 *
 * createServer(toNodeListener((request) => service.fetch(request))).listen(8080);
 * ```
 */
export function toNodeListener(
  handler: FetchHandler,
  options: NodeListenerOptions = {},
): NodeListener {
  const listenerOptions: Parameters<typeof getRequestListener>[1] = {};
  if (options.hostname !== undefined) listenerOptions.hostname = options.hostname;
  if (options.overrideGlobalObjects !== undefined) {
    listenerOptions.overrideGlobalObjects = options.overrideGlobalObjects;
  }
  if (options.onError !== undefined) listenerOptions.errorHandler = options.onError;
  const listener = getRequestListener((request) => handler(request), listenerOptions);
  return (request, response) => listener(request, response);
}

/** The part of an Express 4/5 request the adapter uses (an `IncomingMessage`). */
export interface ExpressRequestLike extends IncomingMessage {
  /** The URL before Express stripped the mount path. */
  originalUrl?: string;
  /** Set by body parsers. */
  body?: unknown;
}

/** An Express-style middleware. */
export type ExpressMiddleware = (
  request: ExpressRequestLike,
  response: ServerResponse,
  next: (error?: unknown) => void,
) => void;

/**
 * Wraps a fetch handler as Express (4 or 5) middleware. Requests under
 * `basePath + paths[i] + '/'` go to the handler; every other request is passed on with `next()`.
 * It works mounted at the root or at a path: the middleware restores `req.url` from
 * `req.originalUrl`, which Express rewrites when a mount path is used.
 *
 * Register it **before** `express.json()` (or any body parser that consumes the body): the handler
 * reads the raw body itself. A body left as a `Buffer` or string (`express.raw()`,
 * `express.text()`) is forwarded; a body already parsed into an object is refused with an error
 * passed to `next`.
 *
 * @example
 * ```ts
 * import express from 'express';
 * import { expressMiddleware } from '@oversync/server/node';
 *
 * const app = express();
 * app.use(expressMiddleware((request) => service.fetch(request), { basePath: '/api' }));
 * app.use(express.json()); // your other routes
 * app.listen(8080);
 * ```
 */
export function expressMiddleware(
  handler: FetchHandler,
  options: MountOptions = {},
): ExpressMiddleware {
  const listener = toNodeListener(handler, options);
  const prefixes = routePrefixes(options);
  return (request, response, next) => {
    const url = request.originalUrl ?? request.url ?? '/';
    if (!matchesPrefix(pathOf(url), prefixes)) {
      next();
      return;
    }
    request.url = url;
    if (!forwardConsumedBody(request)) {
      next(
        new Error(
          'oversync: the request body was already parsed by a body parser; ' +
            'register expressMiddleware before express.json()',
        ),
      );
      return;
    }
    listener(request, response).catch(next);
  };
}

/** The part of a Fastify 4/5 instance the plugin uses. */
export interface FastifyInstanceLike {
  removeAllContentTypeParsers(): void;
  addContentTypeParser(
    contentType: string,
    parser: (
      request: unknown,
      payload: unknown,
      done: (error: Error | null, body?: unknown) => void,
    ) => void,
  ): void;
  all(path: string, handler: (request: FastifyRequestLike, reply: FastifyReplyLike) => void): void;
}

/** The part of a Fastify request the plugin uses. */
export interface FastifyRequestLike {
  raw: IncomingMessage;
}

/** The part of a Fastify reply the plugin uses. */
export interface FastifyReplyLike {
  raw: ServerResponse;
  hijack(): void;
}

/** An async Fastify plugin (encapsulated: its content-type parsers do not leak to your routes). */
export type FastifyPluginLike = (instance: FastifyInstanceLike, options: unknown) => Promise<void>;

/**
 * Wraps a fetch handler as an encapsulated Fastify (4 or 5) plugin. Inside the plugin's scope every
 * content-type parser is removed and a pass-through `'*'` parser is added, so the handler reads the
 * untouched body; each route `reply.hijack()`s and writes the response itself. Routes:
 * `basePath + paths[i] + '/*'` for every path family.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify';
 * import { fastifyPlugin } from '@oversync/server/node';
 *
 * const app = Fastify();
 * await app.register(fastifyPlugin((request) => service.fetch(request), { basePath: '/api' }));
 * await app.listen({ port: 8080 });
 * ```
 */
export function fastifyPlugin(
  handler: FetchHandler,
  options: MountOptions = {},
): FastifyPluginLike {
  const listener = toNodeListener(handler, options);
  const prefixes = routePrefixes(options);
  return async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null));
    for (const prefix of prefixes) {
      scope.all(`${prefix}/*`, (request, reply) => {
        reply.hijack();
        void listener(request.raw, reply.raw);
      });
    }
  };
}

function routePrefixes(options: MountOptions): string[] {
  const base = normalizeBasePath(options.basePath ?? '');
  return (options.paths ?? DEFAULT_PATHS).map((path) => base + normalizeBasePath(path));
}

function normalizeBasePath(path: string): string {
  if (path === '' || path === '/') return '';
  const withSlash = path.startsWith('/') ? path : `/${path}`;
  return withSlash.endsWith('/') ? withSlash.slice(0, -1) : withSlash;
}

function pathOf(url: string): string {
  const end = url.search(/[?#]/);
  return end === -1 ? url : url.slice(0, end);
}

function matchesPrefix(path: string, prefixes: string[]): boolean {
  return prefixes.some((prefix) => path === prefix || path.startsWith(`${prefix}/`));
}

/** Makes a body consumed by an Express body parser readable again; false when it cannot. */
function forwardConsumedBody(request: ExpressRequestLike): boolean {
  if (!request.readableEnded || request.body === undefined) return true;
  if ('rawBody' in request && Buffer.isBuffer(request.rawBody)) return true;
  const body = request.body;
  if (Buffer.isBuffer(body)) {
    Object.assign(request, { rawBody: body });
    return true;
  }
  if (typeof body === 'string') {
    Object.assign(request, { rawBody: Buffer.from(body) });
    return true;
  }
  // Express 4 sets `{}` when no parser matched; nothing was read from the stream in that case.
  return isEmptyObject(body) && request.headers['content-length'] === undefined;
}

function isEmptyObject(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    Object.getPrototypeOf(value) === Object.prototype &&
    Object.keys(value).length === 0
  );
}
