import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../scripts/infra/ports.js';
import { waitFor } from '../../../test/support/wait.js';
import { type BlockchainService, CHAIN_ACCOUNT, type DeployedChain, newUserId, startBlockchainService, startDeployedChain } from './harness.js';

let chain: DeployedChain;
let service: BlockchainService;
const admin = newUserId();

beforeAll(async () => {
  chain = await startDeployedChain();
  service = await startBlockchainService({ rpcUrl: chain.anvil.rpcUrl, contracts: chain.contracts });
});
afterAll(async () => {
  await service?.stop();
  await chain?.anvil.stop();
});

describe('reading a chain account', () => {
  it('gives a user their own custodial address, funded with gas, with MCO2 minted by an ADMIN', async () => {
    const ada = await service.newUser();
    const first = await service.as(ada)(CHAIN_ACCOUNT, { id: ada });
    expect(first.errors).toBeUndefined();
    const account = first.data!._entities[0].chainAccount;
    expect(account).toMatchObject({ carbonBalance: '0.000000000000000000', ethBalance: expect.stringMatching(/^\d+\.\d{18}$/), stake: { staked: '0.000000000000000000', rewards: '0.000000000000000000' } });
    expect(account.address).toMatch(/^0x[0-9a-fA-F]{40}$/);
    // anvil's first accounts start rich; the operator's funding comes on top.
    expect(Number(account.ethBalance)).toBeGreaterThanOrEqual(1);
    const [funding] = await service.sql`select status, kind from chain_transactions where user_id = ${ada}`;
    expect(funding).toMatchObject({ kind: 'GAS_FUNDING' });
    // The same address every time: it is derived from the stored index, not made again.
    expect((await service.as(ada)(CHAIN_ACCOUNT, { id: ada })).data!._entities[0].chainAccount.address).toBe(account.address);
    const [row] = await service.sql`select address_index from custody_accounts where user_id = ${ada}`;
    expect(row!.address_index).toBeGreaterThan(0);

    const minted = await service.as(admin, 'ADMIN')(/* GraphQL */ `mutation ($id: ID!) { mintCarbonOnChain(userId: $id, amount: "2.5") { id hash status } }`, { id: ada });
    expect(minted.errors).toBeUndefined();
    const id = minted.data!.mintCarbonOnChain.id;
    await waitFor(async () => (await service.as(ada)(`query ($id: ID!) { chainTransaction(id: $id) { status } }`, { id })).data?.chainTransaction?.status === 'CONFIRMED', {
      timeoutMs: 10_000,
      message: 'the mint to be confirmed',
    });
    // The gateway resolves a ChainTransaction entity by id, for its user only.
    const entity = /* GraphQL */ `query ($id: ID!) { _entities(representations: [{ __typename: "ChainTransaction", id: $id }]) { ... on ChainTransaction { id kind status hash blockNumber } } }`;
    expect((await service.as(ada)(entity, { id })).data!._entities[0]).toMatchObject({ id, kind: 'MINT', status: 'CONFIRMED', hash: minted.data!.mintCarbonOnChain.hash });
    expect((await service.as(newUserId())(entity, { id })).data!._entities[0]).toBeNull();
    const after = await service.as(admin, 'ADMIN')(CHAIN_ACCOUNT, { id: ada });
    expect(after.data!._entities[0].chainAccount.carbonBalance).toBe('2.500000000000000000');
    expect(await chain.carbonBalance(account.address)).toBe(25n * 10n ** 17n);
  });

  it('refuses another user chain account with FORBIDDEN, and a signed-out caller with UNAUTHENTICATED', async () => {
    const [ada, ben] = [newUserId(), newUserId()];
    const result = await service.as(ben)(CHAIN_ACCOUNT, { id: ada });
    expect(result.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const minting = await service.as(ben)(/* GraphQL */ `mutation ($id: ID!) { mintCarbonOnChain(userId: $id, amount: "1") { id } }`, { id: ben });
    expect(minting.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const [count] = await service.sql`select count(*)::int as n from custody_accounts where user_id in (${ada}, ${ben})`;
    expect(count!.n).toBe(0);
  });

  it('answers NOT_FOUND for a user the user subgraph does not know, spending no address or gas', async () => {
    const nobody = newUserId();
    const minted = await service.as(admin, 'ADMIN')(/* GraphQL */ `mutation ($id: ID!) { mintCarbonOnChain(userId: $id, amount: "1") { id } }`, { id: nobody });
    expect(minted.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const read = await service.as(admin, 'ADMIN')(CHAIN_ACCOUNT, { id: nobody });
    expect(read.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(await service.sql`select * from custody_accounts where user_id = ${nobody}`).toHaveLength(0);
    expect(await service.sql`select * from chain_transactions where user_id = ${nobody}`).toHaveLength(0);
  });
});

describe('when the Ethereum node fails', () => {
  it('answers UPSTREAM_UNAVAILABLE when nothing listens at ETH_RPC_URL, and records no account', async () => {
    const down = await startBlockchainService({ rpcUrl: `http://127.0.0.1:${await freePort()}`, contracts: chain.contracts, env: { INDEXER_ENABLED: 'false' }, users: service.users });
    try {
      const ada = await service.newUser();
      const result = await down.as(ada)(CHAIN_ACCOUNT, { id: ada });
      expect(result.errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
      expect(result.errors?.[0]?.message).toMatch(/Ethereum node is unavailable/);
      expect(await down.sql`select * from custody_accounts`).toHaveLength(0);
      expect(await down.sql`select * from chain_transactions`).toHaveLength(0);
    } finally {
      await down.stop();
    }
  });

  it('answers UPSTREAM_UNAVAILABLE when the node answers garbage', async () => {
    const answers = ['not json at all', JSON.stringify({ jsonrpc: '2.0', id: 1, result: '0xnothex' }), JSON.stringify({ hello: 'world' })];
    for (const answer of answers) {
      const garbage: Server = createServer((_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end(answer));
      await new Promise<void>((resolve) => garbage.listen(0, '127.0.0.1', resolve));
      const down = await startBlockchainService({ rpcUrl: `http://127.0.0.1:${(garbage.address() as AddressInfo).port}`, contracts: chain.contracts, env: { INDEXER_ENABLED: 'false', CUSTODY_GAS_FUNDING_ETH: '0' }, users: service.users });
      try {
        const ada = await service.newUser();
        const result = await down.as(ada)(/* GraphQL */ `query ($id: ID!) { _entities(representations: [{ __typename: "User", id: $id }]) { ... on User { chainAccount { carbonBalance } } } }`, { id: ada });
        expect(result.errors?.[0]?.extensions?.code, answer).toBe('UPSTREAM_UNAVAILABLE');
      } finally {
        await down.stop();
        await new Promise((resolve) => garbage.close(resolve));
      }
    }
  });
});
