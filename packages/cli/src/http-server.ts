import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { toNodeListener } from '@oversync/server/node';

/** A listening HTTP server. */
export interface RunningServer {
  /** Base URL to print, e.g. `http://127.0.0.1:8080` (wildcard hosts shown as loopback). */
  url: string;
  port: number;
  /** Stops accepting connections, waits for open responses (forcing them after `graceMs`). */
  close(graceMs?: number): Promise<void>;
}

/** Serves a fetch handler on `host:port` (port 0 picks a free port). */
export async function listen(
  handler: (request: Request) => Response | Promise<Response>,
  options: { port: number; host: string },
): Promise<RunningServer> {
  const server = createServer(toNodeListener(async (request) => handler(request)));
  // Longer than the idle-socket reuse of common clients (Dart keeps sockets 15 s), so a
  // client never writes into a connection the server is closing.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(`${options.host}:${options.port} is already in use (try --port)`)
          : error,
      );
    };
    server.once('error', onError);
    server.listen(options.port, options.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${displayHost(options.host)}:${port}`,
    port,
    close(graceMs = 5000) {
      closing ??= new Promise<void>((resolve) => {
        const force = setTimeout(() => server.closeAllConnections(), graceMs);
        force.unref();
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}

/** The host to put in a URL: wildcard addresses become loopback, IPv6 literals get brackets. */
export function displayHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
