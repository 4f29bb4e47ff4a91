import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InternalCredential } from '../../../lib/auth/internal-credential.js';
import { ExpiringCache } from '../../../lib/auth/token-cache.js';
import { InternalClient } from '../../../lib/internal-client.js';
import { silentLogger } from '../../../lib/log.js';
import { KNOWN_USER_IDS_MAX, userIdOf } from '../src/workflows/input-checks.js';

/**
 * How a transfer finds its recipient: the user subgraph's lookup, here a real HTTP server on a free loopback
 * port that knows one user and counts what it is asked.
 */
const SECRET = 'recipient-lookup-test-secret-0123456789abcdef';
const known = { id: randomUUID(), email: 'kim@example.com', role: 'BUYER', displayName: 'Kim' };
const asked: unknown[] = [];
let server: Server;
let users: InternalClient;

beforeAll(async () => {
  server = createServer((request, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => void (text += chunk.toString()));
    request.on('end', () => {
      const body = JSON.parse(text) as { id?: string; email?: string };
      asked.push(body);
      const found = body.id === known.id || body.email === known.email;
      response.writeHead(found ? 200 : 404, { 'content-type': 'application/json' });
      response.end(JSON.stringify(found ? { id: known.id, role: known.role, displayName: known.displayName } : { error: { code: 'NOT_FOUND', message: 'No such user' } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  users = new InternalClient(baseUrl, new InternalCredential(SECRET), { kind: 'service', service: 'transaction' }, 5_000, silentLogger);
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('a transfer’s recipient', () => {
  it('is asked for by id once, and by email every time (an email may change hands)', async () => {
    const deps = { users, knownUserIds: new ExpiringCache<true>(KNOWN_USER_IDS_MAX) };
    asked.length = 0;
    expect(await userIdOf(deps, known.id)).toBe(known.id);
    expect(await userIdOf(deps, known.id)).toBe(known.id);
    expect(await userIdOf(deps, known.email)).toBe(known.id);
    expect(await userIdOf(deps, known.email)).toBe(known.id);
    expect(asked).toEqual([{ id: known.id }, { email: known.email }, { email: known.email }]);
  });

  it('is refused with NOT_FOUND every time it names nobody, and an unknown id is not remembered', async () => {
    const deps = { users, knownUserIds: new ExpiringCache<true>(KNOWN_USER_IDS_MAX) };
    const nobody = randomUUID();
    asked.length = 0;
    await expect(userIdOf(deps, nobody)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(userIdOf(deps, nobody)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(userIdOf(deps, 'nobody@example.com')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(asked).toEqual([{ id: nobody }, { id: nobody }, { email: 'nobody@example.com' }]);
  });
});
