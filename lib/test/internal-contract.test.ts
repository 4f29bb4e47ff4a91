import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InternalCredential } from '../auth/internal-credential.js';
import { AppError } from '../errors.js';
import { contractRoute } from '../internal-contract.js';
import { InternalClient } from '../internal-client.js';
import { marketStockCall } from '../ledger/market-stock.js';
import { postingCall } from '../ledger/posting.js';
import { userLookupCall } from '../users/lookup.js';

/**
 * Both sides of an internal call hold to its contract: a route refuses a request its contract refuses before
 * the handler runs, and a client takes an answer its contract refuses as no answer (UPSTREAM_UNAVAILABLE,
 * logged), never as data. The client talks to a real HTTP server on a free loopback port.
 */
const SECRET = 'internal-contract-test-secret-0123456789abcdef';
const service = { kind: 'service', service: 'transaction' } as const;
let server: Server;
let baseUrl: string;
/** What the server answers next, as raw JSON text. */
let answerText = '';
const logLines: { msg: string; path?: string; issues?: string }[] = [];
const log = pino(
  { level: 'warn' },
  new Writable({
    write(chunk, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) logLines.push(JSON.parse(line));
      done();
    },
  }),
);

beforeAll(async () => {
  server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(answerText);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const client = () => new InternalClient(baseUrl, new InternalCredential(SECRET), service, 2_000, log);

describe('the client of an internal call', () => {
  it('returns an answer its contract accepts, parsed', async () => {
    answerText = JSON.stringify({ carbonMinor: '840000000000000000000' });
    await expect(client().call(marketStockCall, {})).resolves.toEqual({ carbonMinor: '840000000000000000000' });
  });

  it('takes a malformed answer as UPSTREAM_UNAVAILABLE, with a log naming what broke', async () => {
    // A number where the contract says a string of minor units: JSON would lose digits of it.
    answerText = JSON.stringify({ carbonMinor: 840 });
    const refused = await client()
      .call(marketStockCall, {})
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(AppError);
    expect(refused).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', retriable: true });
    const line = logLines.find((candidate) => candidate.msg === 'an internal answer breaks its contract; taken as no answer');
    expect(line).toMatchObject({ path: '/internal/market/stock' });
    expect(line?.issues).toContain('carbonMinor');

    answerText = JSON.stringify({ id: 'not-a-uuid', role: 'OWNER', displayName: 'Ann' });
    await expect(client().call(userLookupCall, { id: crypto.randomUUID() })).rejects.toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
  });

  it('takes a service that does not answer within its time-out, or is not there, as UPSTREAM_UNAVAILABLE', async () => {
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    try {
      const startedMs = performance.now();
      const refused = await new InternalClient(silentUrl, new InternalCredential(SECRET), service, 200, log).call(marketStockCall, {}).catch((error: unknown) => error);
      expect(refused).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', retriable: true, cause: expect.stringContaining('no answer within 200 ms') });
      expect(performance.now() - startedMs).toBeLessThan(2_000);
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
    await expect(new InternalClient(silentUrl, new InternalCredential(SECRET), service, 200, log).call(marketStockCall, {})).rejects.toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
  });
});

describe('an internal route', () => {
  let handled = 0;
  const route = contractRoute(postingCall, {
    authorize: (caller) => {
      if (caller.kind !== 'service') throw new AppError('FORBIDDEN', 'services only');
    },
    handle: async ({ body }) => {
      handled += 1;
      return { status: 201, body: { id: body.id, status: 'APPLIED' as const, entries: [] } };
    },
  });
  const posting = {
    id: crypto.randomUUID(),
    kind: 'transfer',
    entries: [
      { account: { userId: crypto.randomUUID() }, currency: 'USD', amountMinor: '-100' },
      { account: { userId: crypto.randomUUID() }, currency: 'USD', amountMinor: '100' },
    ],
  };

  it('refuses a malformed request with BAD_USER_INPUT naming the field, before its handler runs', async () => {
    for (const body of [{ ...posting, entries: [] }, { ...posting, id: 'x' }, { ...posting, entries: [{ ...posting.entries[0], amountMinor: '1.5' }, posting.entries[1]] }, 'text']) {
      const refused = await route({ caller: service, body }).catch((error: unknown) => error);
      expect(refused).toMatchObject({ code: 'BAD_USER_INPUT' });
      expect((refused as AppError).message).toMatch(/^invalid request to \/internal\/postings: /);
    }
    expect(handled).toBe(0);
  });

  it('asks who calls before it reads the request', async () => {
    await expect(route({ caller: { kind: 'gateway', identity: null }, body: 'text' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('throws, as a bug, rather than send an answer its contract refuses', async () => {
    const broken = contractRoute(marketStockCall, { authorize: () => {}, handle: async () => ({ status: 200, body: { carbonMinor: '-1' } }) });
    await expect(broken({ caller: service, body: {} })).rejects.toThrow('/internal/market/stock answered what its contract refuses');
    await expect(route({ caller: service, body: posting })).resolves.toMatchObject({ status: 201 });
  });
});
