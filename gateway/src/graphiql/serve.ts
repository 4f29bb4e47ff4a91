import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { Logger } from '../../../lib/log.js';
import { CSP_NONCE_PLACEHOLDER, ensureGraphiqlBuilt, GRAPHIQL_DIST_DIR } from './build.js';

/** Bundle files are named by content hash (see build.ts): any other name under /graphiql/ is not ours. */
const ASSET_NAME = /^page-[A-Z0-9]+\.(js|css)$/;
const CONTENT_TYPES: Record<string, string> = { js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };
/** A Host header fit to name in the policy; anything else gets no ws: source (and 'self' still covers it in CSP 3). */
const HOST = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

/**
 * The page loads its script, styles and data only from this origin; its fonts are data: URLs inside the CSS.
 * The one <style> element GraphiQL adds at run time (for its dialogs) carries the page's nonce.
 */
function contentSecurityPolicy(host: string | undefined, styleNonce: string | null): string {
  const sockets = host && HOST.test(host) ? ` ws://${host} wss://${host}` : '';
  return [
    "default-src 'none'",
    "script-src 'self'",
    `style-src 'self'${styleNonce ? ` 'nonce-${styleNonce}'` : ''}`,
    "font-src 'self' data:",
    "img-src 'self' data:",
    `connect-src 'self'${sockets}`,
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

function send(request: IncomingMessage, response: ServerResponse, status: number, body: string | Buffer, headers: Record<string, string>, styleNonce: string | null = null) {
  response.writeHead(status, {
    'content-length': String(Buffer.byteLength(body)),
    'content-security-policy': contentSecurityPolicy(request.headers.host, styleNonce),
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    ...headers,
  });
  response.end(request.method === 'HEAD' ? undefined : body);
}

/**
 * GraphiQL at /graphiql: the page is checked against its sources on every load (and rebuilt when stale, so an
 * edit shows on reload) and never cached; the hashed bundle files may be cached for good.
 */
export function graphiqlRoute(log: Logger) {
  return async (request: IncomingMessage, response: ServerResponse, path: string): Promise<void> => {
    const text = { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' };
    if (request.method !== 'GET' && request.method !== 'HEAD') return send(request, response, 405, 'Method not allowed\n', { ...text, allow: 'GET, HEAD' });
    if (path === '/graphiql' || path === '/graphiql/') {
      try {
        await ensureGraphiqlBuilt();
      } catch (error) {
        log.error({ err: error }, 'GraphiQL page could not be built');
        return send(request, response, 500, 'The GraphiQL page could not be built; see the gateway log, or run `npm run explorer:build`.\n', text);
      }
      const nonce = randomBytes(16).toString('base64');
      const html = (await readFile(join(GRAPHIQL_DIST_DIR, 'index.html'), 'utf8')).replace(CSP_NONCE_PLACEHOLDER, nonce);
      return send(request, response, 200, html, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }, nonce);
    }
    const name = path.slice('/graphiql/'.length);
    const asset = ASSET_NAME.exec(name);
    const body = asset ? await readFile(join(GRAPHIQL_DIST_DIR, name)).catch(() => null) : null;
    if (!asset || !body) return send(request, response, 404, 'Not found\n', text);
    send(request, response, 200, body, { 'content-type': CONTENT_TYPES[asset[1] as string] as string, 'cache-control': 'public, max-age=31536000, immutable' });
  };
}
