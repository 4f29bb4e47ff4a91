import { randomUUID } from 'node:crypto';
import { type Client, createClient } from 'graphql-ws';
import { type Address, createPublicClient, createTestClient, createWalletClient, getAddress, http, parseUnits } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { carbonTokenAbi } from '../../contracts/artifacts/index.js';
import { DEV_MNEMONIC } from '../../scripts/infra/deploy-contracts.js';
import { encodeFeedCursor } from '../../subgraphs/transaction/src/feed/cursor.js';
import { register } from '../../test/support/people.js';
import { withoutMinterRole } from '../../test/support/minter-role.js';
import { type Stack, startStack } from '../../test/support/stack.js';
import { waitFor } from '../../test/support/wait.js';

/**
 * What a user is told about the chain and the ledger, read through the gateway as a client reads it: the
 * notices of withdrawals, MCO2 deposits, retirement certificates and stakes (their text and data), and
 * transactionUpdated following a retirement's and a withdrawal's chain status. Transactions here need two
 * confirmations, so every chain status in between is seen; the test mines the blocks that confirm them.
 */
const ADMIN = { email: 'admin@example.com', password: 'admin password 123' };
const TONNE = parseUnits('1', 18);
const WAIT_MS = 40_000;
const key = () => randomUUID();
const operator = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: 0 });
/** An outside wallet, far from the custodial indexes the platform hands out. */
const outsider = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: 8 });

let stack: Stack;
let adminToken: string;
let chain: ReturnType<typeof createPublicClient>;
let miner: ReturnType<typeof createTestClient>;
const clients: Client[] = [];

interface Person {
  id: string;
  token: string;
}

interface Notice {
  kind: string;
  title: string;
  body: string;
  data: Record<string, unknown>;
  transaction: { id: string } | null;
}

const NOTIFICATIONS = /* GraphQL */ `{ notifications(first: 50) { edges { node { kind title body data transaction { id } } } } }`;
const TRANSACTION_UPDATED = /* GraphQL */ `subscription { transactionUpdated {
  id type status retirement { chainStatus certificateId txHash } withdrawal { toAddress chainTransaction { status hash } } } }`;

const TRANSACTION_FEED = /* GraphQL */ `subscription ($after: String) { transactionFeed(after: $after) { status transaction { id status } } }`;

beforeAll(async () => {
  stack = await startStack({
    serviceEnv: {
      user: { ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password },
      blockchain: { CONFIRMATIONS: '2', TRACKER_POLL_INTERVAL_MS: '50', INDEXER_POLL_INTERVAL_MS: '100', CHAIN_WORK_INTERVAL_MS: '100' },
      transaction: { RECOVERY_INTERVAL_MS: '100' },
    },
  });
  chain = createPublicClient({ chain: foundry, transport: http(stack.chain.rpcUrl), pollingInterval: 50 });
  miner = createTestClient({ chain: foundry, mode: 'anvil', transport: http(stack.chain.rpcUrl) });
  const login = await stack.graphql(/* GraphQL */ `mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { token } }`, ADMIN);
  adminToken = login.data!.login.token;
}, 90_000);

afterAll(async () => {
  for (const client of clients) await client.dispose();
  await stack?.stop();
});

async function person(name: string): Promise<Person> {
  const { id, token } = await register(stack.gatewayUrl, name);
  return { id, token };
}

async function giveCarbon(to: Person, tonnes: string) {
  const result = await stack.graphql(
    /* GraphQL */ `mutation ($input: DepositInput!, $key: String!) { deposit(input: $input, idempotencyKey: $key) { status } }`,
    { input: { userId: to.id, currency: 'CARBON', amount: tonnes }, key: key() },
    adminToken,
  );
  expect(result.data?.deposit.status).toBe('COMPLETED');
}

/** Waits for `check`, mining a block on each try: what waits for confirmations gets them. */
const whileMining = <T>(check: () => Promise<T | undefined | false>, message: string) =>
  waitFor(
    async () => {
      await miner.mine({ blocks: 1 });
      return check();
    },
    { timeoutMs: WAIT_MS, intervalMs: 100, message },
  );

/** The first notice of `who` with this title, once it exists. */
function noticeTitled(who: Person, title: string): Promise<Notice> {
  return whileMining(async () => {
    const result = await stack.graphql(NOTIFICATIONS, {}, who.token);
    return result.data?.notifications.edges.map((edge: { node: Notice }) => edge.node).find((node: Notice) => node.title === title);
  }, `the notice "${title}"`);
}

/** transactionUpdated for `who` over the gateway's WebSocket; resolves once a deposit to them arrived on it. */
async function transactionUpdates(who: Person): Promise<Record<string, any>[]> {
  const received: Record<string, any>[] = [];
  const client = createClient({ url: stack.gatewayUrl.replace('http', 'ws'), webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { authorization: `Bearer ${who.token}` } });
  clients.push(client);
  client.subscribe({ query: TRANSACTION_UPDATED }, { next: (message) => void received.push(message.data?.transactionUpdated as Record<string, any>), error: () => {}, complete: () => {} });
  // The feed starts from now: a deposit that shows on it says the subscription is in place.
  await waitFor(
    async () => {
      await giveCarbon(who, '0.001');
      return received.length > 0;
    },
    { timeoutMs: WAIT_MS, intervalMs: 250, message: 'the subscription to be in place' },
  );
  return received;
}

/** transactionFeed for `who` after their first change (numbered 1), over the gateway's WebSocket. */
function transactionFeedAfterFirst(who: Person): { status: string; transaction: { id: string; status: string } }[] {
  const received: { status: string; transaction: { id: string; status: string } }[] = [];
  const client = createClient({ url: stack.gatewayUrl.replace('http', 'ws'), webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { authorization: `Bearer ${who.token}` } });
  clients.push(client);
  client.subscribe(
    { query: TRANSACTION_FEED, variables: { after: encodeFeedCursor(1) } },
    { next: (message) => void received.push((message.data as { transactionFeed: (typeof received)[number] }).transactionFeed), error: () => {}, complete: () => {} },
  );
  return received;
}

describe('notices of withdrawals', () => {
  it('tells a completed withdrawal with its amount, address and transaction hash; transactionUpdated follows its mint, transactionFeed tells PENDING then COMPLETED once each', async () => {
    const ana = await person('Ana');
    await giveCarbon(ana, '5');
    const feed = transactionFeedAfterFirst(ana);
    const updates = await transactionUpdates(ana);
    const toAddress = getAddress(`0x${randomUUID().replaceAll('-', '').padEnd(40, '3')}`);
    const withdrawn = await stack.graphql(
      /* GraphQL */ `mutation ($input: WithdrawCarbonInput!, $key: String!) { withdrawCarbon(input: $input, idempotencyKey: $key) { id status } }`,
      { input: { amount: '2.5', toAddress }, key: key() },
      ana.token,
    );
    // Mined, one confirmation short: on its way.
    expect(withdrawn.data?.withdrawCarbon.status).toBe('PENDING');
    const id = withdrawn.data!.withdrawCarbon.id as string;

    const notice = await noticeTitled(ana, 'Withdrawal completed');
    const hash = notice.data.txHash as string;
    expect(hash).toMatch(/^0x[0-9a-f]{64}$/);
    expect(notice).toEqual({
      kind: 'TRANSACTION_COMPLETED',
      title: 'Withdrawal completed',
      body: `2.5 tonnes of MCO2 were minted to ${toAddress} on chain (transaction ${hash}).`,
      data: expect.objectContaining({ transactionId: id, transactionType: 'WITHDRAWAL', status: 'COMPLETED', amount: '2.500000000000000000', toAddress, txHash: hash }),
      transaction: { id },
    });
    // Once when the mint was sent (PENDING, the mint in a block), once when it was confirmed.
    const ofWithdrawal = await waitFor(() => updates.filter((update) => update.id === id).length >= 2 && updates.filter((update) => update.id === id), {
      timeoutMs: WAIT_MS,
      message: 'two transactionUpdated of the withdrawal',
    });
    expect(ofWithdrawal.at(-1)).toMatchObject({ type: 'WITHDRAWAL', status: 'COMPLETED', withdrawal: { toAddress, chainTransaction: { status: 'CONFIRMED', hash } } });
    // The feed tells each change once, with the status that change set, however late it is read.
    const fed = await waitFor(() => feed.filter((item) => item.transaction.id === id).length >= 2 && feed.filter((item) => item.transaction.id === id), {
      timeoutMs: WAIT_MS,
      message: 'two transactionFeed items of the withdrawal',
    });
    expect(fed).toEqual([
      { status: 'PENDING', transaction: { id, status: expect.stringMatching(/^(PENDING|COMPLETED)$/) } },
      { status: 'COMPLETED', transaction: { id, status: 'COMPLETED' } },
    ]);
    expect(await chain.readContract({ address: stack.chain.contracts.token, abi: carbonTokenAbi, functionName: 'balanceOf', args: [toAddress] })).toBe((5n * TONNE) / 2n);
  });

  it('tells a failed withdrawal, why, and that the CARBON was given back', async () => {
    const ben = await person('Ben');
    await giveCarbon(ben, '1');
    const id = await withoutMinterRole(stack.chain, async () => {
      const refused = await stack.graphql(
        /* GraphQL */ `mutation ($input: WithdrawCarbonInput!, $key: String!) { withdrawCarbon(input: $input, idempotencyKey: $key) { id } }`,
        { input: { amount: '0.4', toAddress: outsider.address }, key: key() },
        ben.token,
      );
      expect(refused.errors?.[0]?.extensions?.code).toBe('CHAIN_TRANSACTION_FAILED');
      return refused.errors?.[0]?.extensions?.transactionId as string;
    });
    const notice = await noticeTitled(ben, 'Your withdrawal of 0.4 tonnes of MCO2 failed');
    expect(notice).toEqual({
      kind: 'TRANSACTION_FAILED',
      title: 'Your withdrawal of 0.4 tonnes of MCO2 failed',
      body: 'It failed because the transaction on the Ethereum chain failed. Your 0.4 CARBON was given back to your wallet.',
      data: expect.objectContaining({ transactionId: id, failureCode: 'CHAIN_TRANSACTION_FAILED', amount: '0.400000000000000000', toAddress: outsider.address, txHash: null }),
      transaction: { id },
    });
  });
});

describe('notices of MCO2 received on chain', () => {
  it('tells a deposit credited to the ledger, with the transfer that brought it', async () => {
    const cat = await person('Cat');
    const address = (await stack.graphql(`{ me { chainAccount { address } } }`, {}, cat.token)).data!.me.chainAccount.address as Address;
    const operatorWallet = createWalletClient({ account: operator, chain: foundry, transport: http(stack.chain.rpcUrl) });
    const outsiderWallet = createWalletClient({ account: outsider, chain: foundry, transport: http(stack.chain.rpcUrl) });
    const mined = async (hash: Promise<`0x${string}`>) => chain.waitForTransactionReceipt({ hash: await hash });
    await mined(operatorWallet.writeContract({ address: stack.chain.contracts.token, abi: carbonTokenAbi, functionName: 'mint', args: [outsider.address, 3n * TONNE] }));
    const transfer = await mined(outsiderWallet.writeContract({ address: stack.chain.contracts.token, abi: carbonTokenAbi, functionName: 'transfer', args: [address, 3n * TONNE] }));

    const notice = await noticeTitled(cat, 'MCO2 deposit credited');
    expect(notice).toMatchObject({
      kind: 'FUNDS_RECEIVED',
      body: `3 tonnes of MCO2 you received on chain (transaction ${transfer.transactionHash}) were credited to your CARBON wallet.`,
      data: { transactionType: 'DEPOSIT', status: 'COMPLETED', currency: 'CARBON', amount: '3.000000000000000000', txHash: transfer.transactionHash, depositId: expect.any(String) },
      transaction: { id: expect.any(String) },
    });
  });
});

describe('notices of retirements on chain', () => {
  it('tells the certificate issued, with its number and transaction, and transactionUpdated follows its chain status', async () => {
    const dan = await person('Dan');
    await giveCarbon(dan, '2');
    const updates = await transactionUpdates(dan);
    const retired = await stack.graphql(
      /* GraphQL */ `mutation ($input: RetireCarbonCreditsInput!, $key: String!) { retireCarbonCredits(input: $input, idempotencyKey: $key) { id status } }`,
      { input: { amount: '1.5', beneficiary: 'Acme Ltd' }, key: key() },
      dan.token,
    );
    expect(retired.data?.retireCarbonCredits.status).toBe('COMPLETED');
    const id = retired.data!.retireCarbonCredits.id as string;

    const notice = await noticeTitled(dan, 'Retirement certificate issued');
    const { certificateId, txHash } = notice.data as { certificateId: string; txHash: string };
    expect(certificateId).toMatch(/^\d+$/);
    expect(notice).toEqual({
      kind: 'BLOCKCHAIN',
      title: 'Retirement certificate issued',
      body: `Certificate ${certificateId} for 1.5 tonnes retired for Acme Ltd is recorded on the Ethereum chain (transaction ${txHash}).`,
      data: { chainStatus: 'CONFIRMED', retirementId: id, certificateId, txHash, amount: '1.500000000000000000' },
      transaction: { id },
    });
    // The ledger's COMPLETED, then each step on chain, the last one CONFIRMED with the certificate.
    const ofRetirement = await waitFor(
      () => {
        const seen = updates.filter((update) => update.id === id);
        return seen.at(-1)?.retirement?.chainStatus === 'CONFIRMED' && seen;
      },
      { timeoutMs: WAIT_MS, message: 'transactionUpdated with the certificate confirmed' },
    );
    expect(ofRetirement.length).toBeGreaterThanOrEqual(2);
    expect(ofRetirement[0]).toMatchObject({ type: 'RETIREMENT', status: 'COMPLETED' });
    expect(ofRetirement.at(-1)).toMatchObject({ status: 'COMPLETED', retirement: { chainStatus: 'CONFIRMED', certificateId, txHash } });
  });
});

describe('notices of staking', () => {
  it('tells a stake confirmed on chain', async () => {
    const eve = await person('Eve');
    await stack.graphql(/* GraphQL */ `mutation ($userId: ID!) { mintCarbonOnChain(userId: $userId, amount: "3") { id } }`, { userId: eve.id }, adminToken);
    const staked = await whileMining(async () => {
      const result = await stack.graphql(/* GraphQL */ `mutation { stake(amount: "2") { id hash status } }`, {}, eve.token);
      return result.data?.stake;
    }, 'the stake to be accepted');
    const notice = await noticeTitled(eve, 'Stake confirmed');
    expect(notice).toEqual({
      kind: 'BLOCKCHAIN',
      title: 'Stake confirmed',
      body: `2 MCO2 staked from your chain account (transaction ${staked.hash}).`,
      data: { chainEvent: 'STAKED', amount: '2.000000000000000000', txHash: staked.hash, blockNumber: expect.stringMatching(/^\d+$/), removed: false },
      transaction: null,
    });
  });
});
