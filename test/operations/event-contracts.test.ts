/**
 * The event contract test: every kind of event, produced by the real producers (the workflows, the ledger,
 * the price poller, the indexer, the deposit sweeper, the retirement recorder, the notification store) as a
 * client's actions through the gateway make them, is read by every consumer of its topic through the
 * contracts of lib/events/contracts. A producer that builds data its contract refuses fails here twice: its
 * createEnvelope throws (so its kind never shows up, and the error it logged is named), and any data that
 * did get out but does not parse fails the reading. The services' own counters of skipped events must stay
 * at zero.
 */
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { type Address, createPublicClient, createTestClient, createWalletClient, http, parseUnits } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { carbonStakingAbi, carbonTokenAbi } from '../../contracts/artifacts/index.js';
import { type Event, readEvent } from '../../lib/events/contracts/index.js';
import { type Envelope, TOPICS, type Topic } from '../../lib/events/envelope.js';
import { createMemoryTransport } from '../../lib/events/memory-transport.js';
import type { EventTransport } from '../../lib/events/transport.js';
import { DEV_MNEMONIC } from '../../scripts/infra/deploy-contracts.js';
import { CONSUMED_TOPICS } from '../../subgraphs/notification/src/notifications/consumer.js';
import { noticesForBlockchainEvent, noticesForTransaction, noticesForWallet } from '../../subgraphs/notification/src/notifications/from-events.js';
import { TRANSACTION_FEED_TOPICS } from '../../subgraphs/transaction/src/deps.js';
import { register } from '../support/people.js';
import { withoutMinterRole } from '../support/minter-role.js';
import { type Stack, startStack } from '../support/stack.js';
import { waitFor } from '../support/wait.js';

const ADMIN = { email: 'contracts-admin@example.com', password: 'contracts admin password' };
const TONNE = parseUnits('1', 18);
const WAIT_MS = 40_000;
const key = () => randomUUID();
const operator = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: 0 });
const outsider = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: 7 });

/**
 * Every consumer of events in the tree, by the topics it subscribes to, with what it does with an event
 * beyond reading it when that needs no database (the notices). The topic lists are the services' own where
 * they export them; the others are the one topic each live feed or consumer names in its server.ts.
 */
const CONSUMERS: { name: string; topics: readonly Topic[]; use?: (event: Event) => void }[] = [
  {
    name: 'notification (notices)',
    topics: CONSUMED_TOPICS,
    use: (event) => {
      if (event.type === 'transaction.status') noticesForTransaction(event.data);
      if (event.type === 'wallet.updated') noticesForWallet(event.data);
      if (event.type === 'blockchain.event') noticesForBlockchainEvent(event.data);
    },
  },
  { name: 'notification (notificationAdded feed)', topics: ['notification.created'] },
  { name: 'blockchain (retirements)', topics: ['transaction.status'] },
  { name: 'transaction (chain deposits)', topics: ['blockchain.event'] },
  { name: 'transaction (transactionUpdated feed)', topics: TRANSACTION_FEED_TOPICS },
  { name: 'user (walletUpdated feed)', topics: ['wallet.updated'] },
  { name: 'price (priceUpdated feed)', topics: ['price.updated'] },
];

/** What the producers must all have produced: a topic's events by their kind (type, status or kind). */
const EXPECTED_KINDS = [
  'transaction.status DEPOSIT COMPLETED',
  'transaction.status DEPOSIT COMPLETED chain',
  'transaction.status TRANSFER COMPLETED',
  'transaction.status TRANSFER FAILED',
  'transaction.status PAYMENT COMPLETED',
  'transaction.status PURCHASE COMPLETED',
  'transaction.status MARKET_SUPPLY COMPLETED',
  'transaction.status RETIREMENT COMPLETED',
  'transaction.status WITHDRAWAL COMPLETED',
  'transaction.status WITHDRAWAL FAILED',
  'wallet.updated',
  'price.updated',
  'notification.created',
  ...['MINT', 'BURN', 'TRANSFER', 'RETIRED', 'STAKED', 'UNSTAKED', 'REWARD_PAID', 'REWARDS_FUNDED', 'CARBON_DEPOSIT'].map((kind) => `blockchain.event ${kind}`),
  'blockchain.event RETIREMENT_CHAIN_STATUS CONFIRMED',
];

function kindOf(envelope: Envelope): string {
  const data = envelope.data as Record<string, unknown>;
  if (envelope.type === 'transaction.status') return `${envelope.type} ${data.type} ${data.status}${data.chainDeposit ? ' chain' : ''}`;
  if (envelope.type === 'blockchain.event') return `${envelope.type} ${data.kind}${data.chainStatus ? ` ${data.chainStatus}` : ''}`;
  return envelope.type;
}

let stack: Stack;
let transport: EventTransport;
let adminToken: string;
let chain: ReturnType<typeof createPublicClient>;
let miner: ReturnType<typeof createTestClient>;
const captured: Envelope[] = [];
/** What the services logged about contracts (a producer's EventContractError, a consumer's skip), for the failure message. */
const contractLines: string[] = [];

const logTo = (service: string) =>
  pino(
    { level: 'warn' },
    new Writable({
      write(chunk, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter((text: string) => /its contract|EventContractError/.test(text))) contractLines.push(`${service}: ${line}`);
        done();
      },
    }),
  );

beforeAll(async () => {
  transport = createMemoryTransport();
  await transport.subscribe({ topics: TOPICS, groupId: 'contract-test', fromBeginning: true, handle: async (envelope) => void captured.push(envelope) });
  stack = await startStack({
    transport,
    logFor: logTo,
    serviceEnv: {
      user: { ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password },
      blockchain: { TRACKER_POLL_INTERVAL_MS: '50', INDEXER_POLL_INTERVAL_MS: '100', CHAIN_WORK_INTERVAL_MS: '100' },
      transaction: { RECOVERY_INTERVAL_MS: '100' },
    },
  });
  chain = createPublicClient({ chain: foundry, transport: http(stack.chain.rpcUrl), pollingInterval: 50 });
  miner = createTestClient({ chain: foundry, mode: 'anvil', transport: http(stack.chain.rpcUrl) });
  const login = await stack.graphql(/* GraphQL */ `mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { token } }`, ADMIN);
  adminToken = login.data!.login.token;
}, 90_000);

afterAll(async () => {
  await stack?.stop();
  await transport?.close();
});

interface Person {
  id: string;
  token: string;
}

async function person(name: string, role: 'BUYER' | 'SELLER'): Promise<Person> {
  const { id, token } = await register(stack.gatewayUrl, name, { role });
  return { id, token };
}

/** A mutation that must succeed; its first field's answer. */
async function must(query: string, variables: Record<string, unknown>, token: string): Promise<Record<string, any>> {
  const result = await stack.graphql(query, variables, token);
  expect(result.errors, `${query}\n${JSON.stringify(result.errors)}`).toBeUndefined();
  return Object.values(result.data ?? {})[0] as Record<string, any>;
}

const DEPOSIT = /* GraphQL */ `mutation ($input: DepositInput!, $key: String!) { deposit(input: $input, idempotencyKey: $key) { status } }`;
const WITHDRAW = /* GraphQL */ `mutation ($input: WithdrawCarbonInput!, $key: String!) { withdrawCarbon(input: $input, idempotencyKey: $key) { status } }`;
const mined = async (hash: Promise<`0x${string}`>) => chain.waitForTransactionReceipt({ hash: await hash });

/** The ledger's workflows, each once (and a refused transfer). */
async function ledgerWorkflows(ana: Person, bo: Person) {
  await must(DEPOSIT, { input: { userId: ana.id, currency: 'USD', amount: '500.00' }, key: key() }, adminToken);
  await must(DEPOSIT, { input: { userId: ana.id, currency: 'CARBON', amount: '10' }, key: key() }, adminToken);
  const transfer = /* GraphQL */ `mutation ($input: TransferInput!, $key: String!) { transfer(input: $input, idempotencyKey: $key) { status } }`;
  await must(transfer, { input: { to: bo.id, currency: 'USD', amount: '10.00' }, key: key() }, ana.token);
  const refused = await stack.graphql(transfer, { input: { to: ana.id, currency: 'USD', amount: '1000.00' }, key: key() }, bo.token);
  expect(refused.errors?.[0]?.extensions?.code).toBe('INSUFFICIENT_FUNDS');
  await must(/* GraphQL */ `mutation ($input: PayInput!, $key: String!) { pay(input: $input, idempotencyKey: $key) { status } }`, { input: { sellerId: bo.id, currency: 'USD', amount: '5.00', reference: 'order 1' }, key: key() }, ana.token);
  await must(/* GraphQL */ `mutation ($input: SupplyMarketInput!, $key: String!) { supplyMarket(input: $input, idempotencyKey: $key) { status } }`, { input: { tonnes: '100' }, key: key() }, adminToken);
  const quote = await waitFor(
    async () => (await stack.graphql(/* GraphQL */ `mutation { quoteCarbonPurchase(input: { tonnes: "1" }) { id } }`, {}, ana.token)).data?.quoteCarbonPurchase,
    { timeoutMs: WAIT_MS, message: 'a price to quote at' },
  );
  await must(/* GraphQL */ `mutation ($input: PurchaseCarbonCreditsInput!, $key: String!) { purchaseCarbonCredits(input: $input, idempotencyKey: $key) { status } }`, { input: { quoteId: quote.id }, key: key() }, ana.token);
  await must(/* GraphQL */ `mutation ($input: RetireCarbonCreditsInput!, $key: String!) { retireCarbonCredits(input: $input, idempotencyKey: $key) { status } }`, { input: { amount: '1', beneficiary: 'Acme Ltd', message: 'Flights' }, key: key() }, ana.token);
}

/** Withdrawals (one minted, one reverted), staking with rewards, and MCO2 sent to a custodial address. */
async function chainWorkflows(ana: Person, bo: Person) {
  const custodial = (await stack.graphql(`{ me { chainAccount { address } } }`, {}, ana.token)).data!.me.chainAccount.address as Address;
  expect((await must(WITHDRAW, { input: { amount: '4', toAddress: custodial }, key: key() }, ana.token)).status).toBe('COMPLETED');
  const operatorWallet = createWalletClient({ account: operator, chain: foundry, transport: http(stack.chain.rpcUrl) });
  const { token, staking } = stack.chain.contracts;
  // A mint that reverts (one to a platform contract, which reverted before, is now refused before any debit).
  await withoutMinterRole(stack.chain, async () => {
    const refused = await stack.graphql(WITHDRAW, { input: { amount: '0.5', toAddress: '0x1111111111111111111111111111111111111111' }, key: key() }, ana.token);
    expect(refused.errors?.[0]?.extensions?.code, JSON.stringify(refused.errors)).toBe('CHAIN_TRANSACTION_FAILED');
  });
  await mined(operatorWallet.writeContract({ address: token, abi: carbonTokenAbi, functionName: 'mint', args: [operator.address, 10n * TONNE] }));
  await mined(operatorWallet.writeContract({ address: token, abi: carbonTokenAbi, functionName: 'approve', args: [staking, 10n * TONNE] }));
  await mined(operatorWallet.writeContract({ address: staking, abi: carbonStakingAbi, functionName: 'fundRewards', args: [10n * TONNE] }));
  await mined(operatorWallet.writeContract({ address: staking, abi: carbonStakingAbi, functionName: 'setRewardRate', args: [10n ** 12n] }));
  await must(/* GraphQL */ `mutation { stake(amount: "2") { id } }`, {}, ana.token);
  await waitFor(
    async () => {
      await miner.increaseTime({ seconds: 600 });
      await miner.mine({ blocks: 1 });
      return (await stack.graphql(/* GraphQL */ `mutation { claimRewards { id } }`, {}, ana.token)).data?.claimRewards;
    },
    { timeoutMs: WAIT_MS, intervalMs: 200, message: 'staking rewards to claim' },
  );
  await must(/* GraphQL */ `mutation { unstake(amount: "1") { id } }`, {}, ana.token);

  const boAddress = (await stack.graphql(`{ me { chainAccount { address } } }`, {}, bo.token)).data!.me.chainAccount.address as Address;
  const outsiderWallet = createWalletClient({ account: outsider, chain: foundry, transport: http(stack.chain.rpcUrl) });
  await mined(operatorWallet.writeContract({ address: token, abi: carbonTokenAbi, functionName: 'mint', args: [outsider.address, 2n * TONNE] }));
  await mined(outsiderWallet.writeContract({ address: token, abi: carbonTokenAbi, functionName: 'transfer', args: [boAddress, 2n * TONNE] }));
}

describe('event contracts', () => {
  it('hold between every producer and every consumer of its topic', async () => {
    const [ana, bo] = [await person('Ana', 'BUYER'), await person('Bo', 'SELLER')];
    await ledgerWorkflows(ana, bo);
    await chainWorkflows(ana, bo);

    const missing = () => EXPECTED_KINDS.filter((kind) => !captured.some((envelope) => kindOf(envelope) === kind));
    await waitFor(() => missing().length === 0, { timeoutMs: WAIT_MS, message: 'every kind of event' }).catch((error: Error) => {
      throw new Error(`${error.message}\nnever produced: ${missing().join('; ')}\nwhat the services logged about contracts:\n${contractLines.join('\n') || '(nothing)'}`);
    });

    const broken: string[] = [];
    for (const envelope of captured) {
      for (const consumer of CONSUMERS.filter((candidate) => candidate.topics.includes(envelope.type))) {
        const outcome = readEvent(envelope, consumer.topics);
        if (!outcome.ok) broken.push(`${consumer.name} cannot read ${kindOf(envelope)} v${envelope.version}: ${outcome.detail}`);
        else consumer.use?.(outcome.event);
      }
    }
    expect(broken, `events consumers cannot read (of ${captured.length})`).toEqual([]);

    // And the services' consumers themselves skipped nothing.
    for (const [name, subgraph] of Object.entries(stack.subgraphs)) {
      const metrics = await (await fetch(new URL('/metrics', subgraph.url))).text();
      const skipped = metrics.split('\n').filter((line) => line.startsWith('ecocoin_events_skipped_total{'));
      expect(skipped, `${name} skipped events`).toEqual([]);
    }
    expect(contractLines).toEqual([]);
  }, 120_000);
});
