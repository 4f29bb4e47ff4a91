import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INTERNAL_CREDENTIAL_HEADER, InternalCredential } from '../../../lib/auth/internal-credential.js';
import { WITHDRAWAL_PATH } from '../../../lib/chain/withdrawal.js';
import { WITHDRAWAL_ADDRESS_CHECK_PATH } from '../../../lib/chain/withdrawal-address.js';
import { freePort } from '../../../scripts/infra/ports.js';
import { TEST_SECRETS } from '../../../test/support/stack.js';
import { waitFor } from '../../../test/support/wait.js';
import { LOST_AFTER_MS } from '../src/chain/records.js';
import { type BlockchainService, type DeployedChain, startBlockchainService, startDeployedChain, TONNE } from './harness.js';

/** The blockchain side of a withdrawal, asked the way the transaction subgraph asks. */
let chain: DeployedChain;
let service: BlockchainService;
const credential = new InternalCredential(TEST_SECRETS.GATEWAY_SECRET);
// An ordinary address (ethers' documentation example): nobody's here, but it is outside the reserved low range.
const RECEIVER = '0x8ba1f109551bD432803012645Ac136ddd64DBA72';

async function ask(target: BlockchainService, body: unknown, service = 'transaction') {
  const response = await fetch(new URL(WITHDRAWAL_PATH, target.server.url), {
    method: 'POST',
    headers: { 'content-type': 'application/json', [INTERNAL_CREDENTIAL_HEADER]: await credential.mint({ kind: 'service', service }) },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

/** Asks until the answer is settled: a busy node may not have mined the mint within the answer's receipt wait (PENDING). */
const settledAnswer = (target: BlockchainService, body: unknown) =>
  waitFor(async () => {
    const answer = await ask(target, body);
    return answer.body.status !== 'PENDING' && answer;
  }, { timeoutMs: 20_000, message: 'the withdrawal settled' });

const request = (overrides: Record<string, unknown> = {}) => ({ id: randomUUID(), userId: randomUUID(), toAddress: RECEIVER, amountMinor: String(TONNE), ...overrides });

beforeAll(async () => {
  chain = await startDeployedChain();
  service = await startBlockchainService({ rpcUrl: chain.anvil.rpcUrl, contracts: chain.contracts, env: { INDEXER_ENABLED: 'false' } });
});
afterAll(async () => {
  await service?.stop();
  await chain?.anvil.stop();
});

describe('POST /internal/withdrawals', () => {
  it('mints once per id, however often it is asked, and answers where it stands', async () => {
    const before = await chain.carbonBalance(RECEIVER);
    const withdrawal = request();
    const answers = await Promise.all([ask(service, withdrawal), ask(service, withdrawal), ask(service, withdrawal)]);
    for (const answer of answers) expect(answer).toMatchObject({ status: 200, body: { status: 'CONFIRMED', failureCode: null } });
    expect(new Set(answers.map((answer) => answer.body.chainTransactionId)).size).toBe(1);
    expect((await chain.carbonBalance(RECEIVER)) - before).toBe(TONNE);
    expect(await service.sql`select kind, reference from chain_transactions where reference = ${withdrawal.id}`).toEqual([{ kind: 'WITHDRAWAL', reference: withdrawal.id }]);
  });

  it('refuses a reused id with other content, bad requests, and callers other than the transaction subgraph', async () => {
    const withdrawal = request();
    expect((await ask(service, withdrawal)).body.status).toBe('CONFIRMED');
    const reused = await ask(service, { ...withdrawal, amountMinor: String(2n * TONNE) });
    expect(reused).toMatchObject({ status: 400, body: { error: { code: 'BAD_USER_INPUT' } } });
    const bads = [request({ toAddress: '0xnot' }), request({ amountMinor: '0' }), request({ amountMinor: '-5' }), request({ id: 'x' }), request({ toAddress: chain.contracts.staking }), request({ toAddress: '0x0000000000000000000000000000000000000001' })];
    for (const bad of [...bads, { hello: 1 }]) {
      expect((await ask(service, bad)).body.error?.code, JSON.stringify(bad)).toBe('BAD_USER_INPUT');
    }
    const forbidden = request();
    expect((await ask(service, forbidden, 'price')).body.error?.code).toBe('FORBIDDEN');
    // Refused before anything was recorded.
    const refusedIds = [...bads.map((bad) => String(bad.id)), forbidden.id].filter((id) => id !== 'x');
    expect(await service.sql`select id from withdrawals where id = any(${refusedIds}::uuid[])`).toEqual([]);
    expect(await service.sql`select amount from withdrawals where id = ${withdrawal.id}`).toEqual([{ amount: String(TONNE) }]);
  });

  it('checks an address for the transaction subgraph before it debits: precompiles and the platform contracts are refused', async () => {
    const check = async (toAddress: unknown, caller = 'transaction') => {
      const response = await fetch(new URL(WITHDRAWAL_ADDRESS_CHECK_PATH, service.server.url), {
        method: 'POST',
        headers: { 'content-type': 'application/json', [INTERNAL_CREDENTIAL_HEADER]: await credential.mint({ kind: 'service', service: caller }) },
        body: JSON.stringify({ toAddress }),
      });
      return { status: response.status, body: (await response.json()) as Record<string, any> };
    };
    expect(await check(RECEIVER.toLowerCase())).toEqual({ status: 200, body: { toAddress: RECEIVER } });
    for (const refused of ['0x0000000000000000000000000000000000000001', '0x000000000000000000000000000000000000fFfF', ...Object.values(chain.contracts), '0xnot', 42]) {
      expect(await check(refused), String(refused)).toMatchObject({ status: 400, body: { error: { code: 'BAD_USER_INPUT', message: expect.stringContaining('toAddress') } } });
    }
    expect((await check(RECEIVER, 'price')).body.error?.code).toBe('FORBIDDEN');
  });

  it('answers FAILED for a withdrawal whose mint was recorded but never broadcast, and the operator\'s next mint takes its nonce', async () => {
    const lost = request();
    const gap = await chain.client.getTransactionCount({ address: chain.operator.address, blockTag: 'pending' });
    // What a crash between the mint's record and its broadcast leaves, LOST_AFTER_MS and more ago.
    await service.sql.begin(async (tx) => {
      await tx`insert into withdrawals (id, user_id, to_address, amount) values (${lost.id}, ${lost.userId}, ${lost.toAddress}, ${lost.amountMinor})`;
      await tx`
        insert into chain_transactions (kind, user_id, reference, signer, nonce, hash, status, created_at)
        values ('WITHDRAWAL', ${lost.userId}, ${lost.id}, ${chain.operator.address}, ${gap}, ${`0x${randomBytes(32).toString('hex')}`}, 'SUBMITTED', now() - make_interval(secs => ${LOST_AFTER_MS / 1000 + 60}))`;
    });
    // The tracker finds it (a send from the operator would as well).
    await waitFor(async () => (await service.sql`select status from chain_transactions where reference = ${lost.id}`)[0]?.status === 'FAILED', { timeoutMs: 10_000, message: 'the lost mint ended' });
    const failed = { status: 'FAILED', failureCode: 'CHAIN_TRANSACTION_FAILED', failureMessage: `The mint on chain failed: never reached the node (or the node dropped it); nonce ${gap} reused` };
    expect(await ask(service, lost)).toMatchObject({ status: 200, body: failed });
    const next = request();
    expect(await settledAnswer(service, next)).toMatchObject({ status: 200, body: { status: 'CONFIRMED' } });
    expect(await service.sql`select nonce from chain_transactions where reference = ${next.id}`).toEqual([{ nonce: gap }]);
    // Asked again, the answer stands: the transaction subgraph gives the CARBON back once, and no mint follows.
    expect(await ask(service, lost)).toMatchObject({ status: 200, body: failed });
    expect(await service.sql`select count(*)::int as count from chain_transactions where reference = ${lost.id}`).toEqual([{ count: 1 }]);
  });

  it('ends FAILED a withdrawal whose broadcast got no answer and never reached the node, instead of leaving it PENDING', async () => {
    // In front of the node: while `swallowing`, a broadcast is held without an answer and never passed on.
    let swallowing = true;
    const proxy: Server = createServer((incoming, outgoing) => {
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('end', () => {
        const body = Buffer.concat(chunks);
        if (swallowing && String(body).includes('"eth_sendRawTransaction"')) return;
        const upstream = httpRequest(chain.anvil.rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' } }, (answer) => {
          outgoing.writeHead(answer.statusCode ?? 502, { 'content-type': 'application/json' });
          answer.pipe(outgoing);
        });
        upstream.on('error', () => outgoing.destroy());
        upstream.end(body);
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const behind = await startBlockchainService({ rpcUrl: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, contracts: chain.contracts, env: { INDEXER_ENABLED: 'false', RPC_TIMEOUT_MS: '500' } });
    try {
      const gap = await chain.client.getTransactionCount({ address: chain.operator.address, blockTag: 'pending' });
      const lost = request();
      // Recorded and signed, but the broadcast timed out: on its way as far as anyone can tell.
      const pending = await ask(behind, lost);
      expect(pending).toMatchObject({ status: 200, body: { status: 'PENDING', failureCode: null } });
      expect(await chain.client.getTransactionCount({ address: chain.operator.address, blockTag: 'pending' })).toBe(gap);
      swallowing = false;
      // LOST_AFTER_MS on, as the clock would have it, the node still does not know it.
      await behind.sql`update chain_transactions set created_at = now() - make_interval(secs => ${LOST_AFTER_MS / 1000 + 60}) where reference = ${lost.id}`;
      await waitFor(async () => (await behind.sql`select status from chain_transactions where reference = ${lost.id}`)[0]?.status === 'FAILED', { timeoutMs: 10_000, message: 'the lost mint ended' });
      expect(await ask(behind, lost)).toMatchObject({
        status: 200,
        body: { status: 'FAILED', failureCode: 'CHAIN_TRANSACTION_FAILED', chainTransactionId: pending.body.chainTransactionId, failureMessage: expect.stringContaining(`never reached the node (or the node dropped it); nonce ${gap} reused`) },
      });
      const next = request();
      expect(await settledAnswer(behind, next)).toMatchObject({ status: 200, body: { status: 'CONFIRMED' } });
      expect(await behind.sql`select nonce from chain_transactions where reference = ${next.id}`).toEqual([{ nonce: gap }]);
    } finally {
      await behind.stop();
      proxy.closeAllConnections();
      proxy.close();
    }
  });

  it('answers FAILED with UPSTREAM_UNAVAILABLE when the node is down or answers garbage, recording nothing as sent', async () => {
    const garbage: Server = createServer((_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end('{"jsonrpc":"2.0","id":1,"result":"0xnothex"}'));
    await new Promise<void>((resolve) => garbage.listen(0, '127.0.0.1', resolve));
    const rpcUrls = [`http://127.0.0.1:${await freePort()}`, `http://127.0.0.1:${(garbage.address() as AddressInfo).port}`];
    try {
      for (const rpcUrl of rpcUrls) {
        const down = await startBlockchainService({ rpcUrl, contracts: chain.contracts, env: { INDEXER_ENABLED: 'false', RPC_TIMEOUT_MS: '1000' } });
        try {
          const withdrawal = request();
          const answer = await ask(down, withdrawal);
          expect(answer.body, rpcUrl).toMatchObject({ status: 'FAILED', failureCode: 'UPSTREAM_UNAVAILABLE', chainTransactionId: null, hash: null });
          expect(await down.sql`select * from chain_transactions`).toHaveLength(0);
          // Asked again, the answer stands: the transaction subgraph gives the CARBON back once.
          expect((await ask(down, withdrawal)).body).toMatchObject({ status: 'FAILED', failureCode: 'UPSTREAM_UNAVAILABLE' });
        } finally {
          await down.stop();
        }
      }
    } finally {
      garbage.close();
    }
  });
});
