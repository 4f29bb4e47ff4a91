import { randomUUID } from 'node:crypto';
import { type Address, createPublicClient, createWalletClient, getAddress, http, parseUnits } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { carbonTokenAbi } from '../../contracts/artifacts/index.js';
import { DEV_MNEMONIC } from '../../scripts/infra/deploy-contracts.js';
import { ChainAccountDocument, createEcoCoinClient, type EcoCoinClient, RetirementCertificateDocument, StakeDocument, WithdrawCarbonDocument } from '../../sdk/index.js';
import { rejection } from '../../test/support/sdk.js';
import { register } from '../../test/support/people.js';
import { withoutMinterRole } from '../../test/support/minter-role.js';
import { type Stack, startStack } from '../../test/support/stack.js';
import { waitFor } from '../../test/support/wait.js';

/**
 * The chain side of the platform through the gateway, as a client sees it: withdrawals to an address, staking
 * what was withdrawn to one's own custodial account, retirements with a certificate on chain, and MCO2 sent
 * to a custodial address credited to the ledger once.
 */
const ADMIN = { email: 'admin@example.com', password: 'admin password 123' };
const TONNE = parseUnits('1', 18);
const key = () => randomUUID();
let stack: Stack;
let adminToken: string;
let chain: ReturnType<typeof createPublicClient>;
const operator = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: 0 });
/** An outside wallet, far from the custodial indexes the platform hands out. */
const outsider = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: 9 });

const WITHDRAW = /* GraphQL */ `mutation ($input: WithdrawCarbonInput!, $key: String!) {
  withdrawCarbon(input: $input, idempotencyKey: $key) { id type status failureCode amount withdrawal { toAddress chainTransaction { id hash status kind revertReason } } } }`;
const RETIRE = /* GraphQL */ `mutation ($input: RetireCarbonCreditsInput!, $key: String!) {
  retireCarbonCredits(input: $input, idempotencyKey: $key) { id status retirement { id } } }`;
const RETIREMENT = /* GraphQL */ `query ($id: ID!) { transaction(id: $id) { retirement { id beneficiary chainStatus txHash certificateId chainTransaction { status kind } } } }`;
const TRANSACTION_STATUS = /* GraphQL */ `query ($id: ID!) { transaction(id: $id) { status } }`;
const CHAIN_ACCOUNT = /* GraphQL */ `{ me { chainAccount { address linkedAddresses carbonBalance stake { staked } } } }`;

interface Person {
  id: string;
  token: string;
  /** The typed SDK, signed in as this person. */
  sdk: EcoCoinClient;
}

const clients: EcoCoinClient[] = [];

async function person(name: string): Promise<Person> {
  const { id, token } = await register(stack.gatewayUrl, name);
  const sdk = createEcoCoinClient({ url: stack.gatewayUrl, token });
  clients.push(sdk);
  return { id, token, sdk };
}

async function giveCarbon(to: Person, tonnes: string) {
  const result = await stack.graphql(
    /* GraphQL */ `mutation ($input: DepositInput!, $key: String!) { deposit(input: $input, idempotencyKey: $key) { status } }`,
    { input: { userId: to.id, currency: 'CARBON', amount: tonnes }, key: key() },
    adminToken,
  );
  expect(result.data?.deposit.status).toBe('COMPLETED');
}

async function carbonOnLedger(who: Person): Promise<string> {
  const result = await stack.graphql(/* GraphQL */ `{ me { wallets { currency balance } } }`, {}, who.token);
  return result.data!.me.wallets.find((wallet: { currency: string }) => wallet.currency === 'CARBON').balance;
}

/** Every balance on the platform, users and system accounts, in one snapshot (ADMIN only). */
async function ledgerSnapshot(): Promise<unknown> {
  const result = await stack.graphql(/* GraphQL */ `{ ledgerSnapshot(first: 10000) { totals { currency total } accounts { walletId balance } } }`, {}, adminToken);
  expect(result.errors).toBeUndefined();
  return result.data!.ledgerSnapshot;
}

const balanceOnChain = (address: Address) => chain.readContract({ address: stack.chain.contracts.token, abi: carbonTokenAbi, functionName: 'balanceOf', args: [address] });

beforeAll(async () => {
  stack = await startStack({
    serviceEnv: {
      user: { ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password },
      blockchain: { TRACKER_POLL_INTERVAL_MS: '50', INDEXER_POLL_INTERVAL_MS: '100', CHAIN_WORK_INTERVAL_MS: '100' },
      transaction: { RECOVERY_INTERVAL_MS: '100' },
    },
  });
  chain = createPublicClient({ chain: foundry, transport: http(stack.chain.rpcUrl), pollingInterval: 50 });
  const login = await stack.graphql(/* GraphQL */ `mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { token } }`, ADMIN);
  adminToken = login.data!.login.token;
}, 90_000);

afterAll(async () => {
  for (const client of clients) await client.dispose();
  await stack?.stop();
});

describe('withdrawing CARBON to an address on chain', () => {
  it('debits the ledger and mints the MCO2 to the address, once per idempotency key', async () => {
    const ana = await person('Ana');
    await giveCarbon(ana, '5');
    const toAddress = getAddress(`0x${randomUUID().replaceAll('-', '').padEnd(40, '7')}`);
    const variables = { input: { amount: '2.5', toAddress }, idempotencyKey: key() };
    const { withdrawCarbon } = await ana.sdk.request(WithdrawCarbonDocument, variables);
    expect(withdrawCarbon).toMatchObject({
      type: 'WITHDRAWAL',
      status: 'COMPLETED',
      amount: '2.500000000000000000',
      withdrawal: { toAddress, chainTransaction: { kind: 'WITHDRAWAL', status: 'CONFIRMED', revertReason: null } },
    });
    expect(await balanceOnChain(toAddress)).toBe((5n * TONNE) / 2n);
    expect(await carbonOnLedger(ana)).toBe('2.500000000000000000');

    // The same key again: the first result, nothing minted or debited twice.
    const again = await ana.sdk.request(WithdrawCarbonDocument, variables);
    expect(again.withdrawCarbon.id).toBe(withdrawCarbon.id);
    expect(await balanceOnChain(toAddress)).toBe((5n * TONNE) / 2n);
    expect(await carbonOnLedger(ana)).toBe('2.500000000000000000');

    const byHash = await stack.graphql(`query ($hash: String!) { chainTransaction(hash: $hash) { id status } }`, { hash: withdrawCarbon.withdrawal?.chainTransaction?.hash }, ana.token);
    expect(byHash.data?.chainTransaction).toEqual({ id: withdrawCarbon.withdrawal?.chainTransaction?.id, status: 'CONFIRMED' });
  });

  it('refuses bad addresses and amounts with a code, moving nothing', async () => {
    const ben = await person('Ben');
    await giveCarbon(ben, '1');
    const lower = `0x${'ab'.repeat(20)}`;
    const badChecksum = `0x${'aB'.repeat(20)}`;
    const cases: [string, Record<string, unknown>, string][] = [
      ['a bad checksum', { amount: '0.5', toAddress: badChecksum }, 'BAD_USER_INPUT'],
      ['not an address', { amount: '0.5', toAddress: '0x1234' }, 'BAD_USER_INPUT'],
      ['the zero address', { amount: '0.5', toAddress: `0x${'0'.repeat(40)}` }, 'BAD_USER_INPUT'],
      ['a zero amount', { amount: '0', toAddress: lower }, 'BAD_USER_INPUT'],
      ['more than the balance', { amount: '1.5', toAddress: lower }, 'INSUFFICIENT_FUNDS'],
    ];
    for (const [name, input, code] of cases) {
      const result = await stack.graphql(WITHDRAW, { input, key: key() }, ben.token);
      expect(result.errors?.[0]?.extensions?.code, name).toBe(code);
    }
    expect(await carbonOnLedger(ben)).toBe('1.000000000000000000');
    expect(await balanceOnChain(getAddress(lower))).toBe(0n);
  });

  it('refuses the zero address, precompiles and the platform\'s own contracts before any debit, naming toAddress', async () => {
    const fay = await person('Fay');
    await giveCarbon(fay, '1');
    const low = (value: number) => getAddress(`0x${value.toString(16).padStart(40, '0')}`);
    const { token, account, payment, staking } = stack.chain.contracts;
    const destinations: [string, Address][] = [
      ['the ecrecover precompile', low(0x01)],
      ['the point-evaluation precompile', low(0x0a)],
      ['a BLS12-381 precompile', low(0x11)],
      ['P256VERIFY', low(0x100)],
      ['the top of the reserved range', low(0xffff)],
      ['CarbonToken', token],
      ['CarbonAccount', account],
      ['CarbonPayment', payment],
      ['CarbonStaking', staking],
      ['CarbonToken written in lower case', token.toLowerCase() as Address],
    ];
    const chainBefore = await Promise.all(destinations.map(([, address]) => balanceOnChain(address)));
    const ledgerBefore = await ledgerSnapshot();
    for (const [name, toAddress] of destinations) {
      const result = await stack.graphql(WITHDRAW, { input: { amount: '0.5', toAddress }, key: key() }, fay.token);
      expect(result.errors?.[0]?.extensions, name).toMatchObject({ code: 'BAD_USER_INPUT', field: 'toAddress' });
      expect(result.errors?.[0]?.message, name).toMatch(/toAddress/);
    }
    expect(await ledgerSnapshot()).toEqual(ledgerBefore);
    expect(await Promise.all(destinations.map(([, address]) => balanceOnChain(address)))).toEqual(chainBefore);
    const history = await stack.graphql(`{ me { transactions(filter: { type: WITHDRAWAL }) { edges { node { id } } } } }`, {}, fay.token);
    expect(history.data?.me.transactions.edges).toEqual([]);
    // Just above the reserved range is an ordinary address.
    const above = await stack.graphql(WITHDRAW, { input: { amount: '0.5', toAddress: low(0x10000) }, key: key() }, fay.token);
    expect(above.data?.withdrawCarbon.status).toBe('COMPLETED');
  });

  it('gives the CARBON back when the mint reverts on chain, and says why', async () => {
    const cara = await person('Cara');
    await giveCarbon(cara, '1');
    await withoutMinterRole(stack.chain, async () => {
      const refused = await rejection(cara.sdk.request(WithdrawCarbonDocument, { input: { amount: '0.4', toAddress: outsider.address }, idempotencyKey: key() }));
      expect(refused.code).toBe('CHAIN_TRANSACTION_FAILED');
      expect(refused.message).toMatch(/AccessControlUnauthorizedAccount/);
      const history = await stack.graphql(`{ me { transactions(filter: { type: WITHDRAWAL }) { edges { node { status failureCode withdrawal { chainTransaction { status revertReason } } } } } } }`, {}, cara.token);
      expect(history.data?.me.transactions.edges).toEqual([
        { node: { status: 'FAILED', failureCode: 'CHAIN_TRANSACTION_FAILED', withdrawal: { chainTransaction: { status: 'FAILED', revertReason: expect.stringMatching(/AccessControlUnauthorizedAccount/) } } } },
      ]);
      expect(await carbonOnLedger(cara)).toBe('1.000000000000000000');
    });
  });
});

describe('looking up a chain transaction', () => {
  it('wants exactly one of id and hash, and a hash that is one', async () => {
    const gus = await person('Gus');
    const cases: [string, string][] = [
      ['neither', '{ chainTransaction { id } }'],
      ['both', `{ chainTransaction(id: "${randomUUID()}", hash: "0x${'a'.repeat(64)}") { id } }`],
      ['a short hash', '{ chainTransaction(hash: "0x1234") { id } }'],
    ];
    for (const [name, query] of cases) {
      const result = await stack.graphql(query, {}, gus.token);
      expect(result.errors?.[0]?.extensions?.code, name).toBe('BAD_USER_INPUT');
    }
    expect((await stack.graphql(`{ chainTransaction(hash: "0x${'b'.repeat(64)}") { id } }`, {}, gus.token)).data?.chainTransaction).toBeNull();
  });
});

describe('staking through the gateway', () => {
  it('withdraws to the custodial account and stakes it', async () => {
    const dan = await person('Dan');
    await giveCarbon(dan, '3');
    const account = (await dan.sdk.request(ChainAccountDocument, {})).me.chainAccount!;
    expect(account).toMatchObject({ linkedAddresses: [], carbonBalance: '0.000000000000000000' });
    const withdrawn = await dan.sdk.request(WithdrawCarbonDocument, { input: { amount: '3', toAddress: account.address }, idempotencyKey: key() });
    // A busy chain may answer before the mint is confirmed (PENDING, as the API documents); the stake needs it done.
    if (withdrawn.withdrawCarbon.status === 'PENDING') {
      await waitFor(async () => (await stack.graphql(TRANSACTION_STATUS, { id: withdrawn.withdrawCarbon.id }, dan.token)).data?.transaction.status === 'COMPLETED', { timeoutMs: 30_000, message: 'the withdrawal to complete' });
    } else expect(withdrawn.withdrawCarbon.status).toBe('COMPLETED');
    const { stake } = await dan.sdk.request(StakeDocument, { amount: '2' });
    expect(stake.kind).toBe('STAKE');
    const after = await waitFor(
      async () => {
        const current = (await dan.sdk.request(ChainAccountDocument, {})).me.chainAccount!;
        return current.stake.staked === '2.000000000000000000' && current;
      },
      { timeoutMs: 15_000, message: 'the stake to show' },
    );
    expect(after.carbonBalance).toBe('1.000000000000000000');
    // Minted to the custodial address by a withdrawal: it stays on chain, it is not a deposit.
    expect(await carbonOnLedger(dan)).toBe('0.000000000000000000');
  });
});

describe('retiring carbon credits', () => {
  it('issues a certificate on chain naming the beneficiary', async () => {
    const eve = await person('Eve');
    await giveCarbon(eve, '2');
    const retired = await stack.graphql(RETIRE, { input: { amount: '1.5', beneficiary: 'Acme Ltd', message: 'Flights 2026' }, key: key() }, eve.token);
    expect(retired.data?.retireCarbonCredits.status).toBe('COMPLETED');
    const id = retired.data!.retireCarbonCredits.id;
    const retirement = await waitFor(
      async () => {
        const current = (await eve.sdk.request(RetirementCertificateDocument, { transactionId: id })).transaction?.retirement;
        return current?.chainStatus === 'CONFIRMED' && current;
      },
      { timeoutMs: 30_000, message: 'the certificate on chain' },
    );
    expect(retirement).toMatchObject({ beneficiary: 'Acme Ltd', txHash: expect.stringMatching(/^0x[0-9a-f]{64}$/) });
    const retireTransaction = (await stack.graphql(RETIREMENT, { id }, eve.token)).data?.transaction.retirement.chainTransaction;
    expect(retireTransaction).toEqual({ status: 'CONFIRMED', kind: 'RETIRE' });
    const certificate = await chain.readContract({ address: stack.chain.contracts.token, abi: carbonTokenAbi, functionName: 'retirement', args: [BigInt(retirement.certificateId!)] });
    expect(certificate).toMatchObject({ amount: (3n * TONNE) / 2n, beneficiary: 'Acme Ltd', message: 'Flights 2026' });
    expect(await carbonOnLedger(eve)).toBe('0.500000000000000000');
  });
});

describe('MCO2 sent to a custodial address', () => {
  it('is burned there and credited to the ledger once, as a DEPOSIT', async () => {
    const fay = await person('Fay');
    const address = (await stack.graphql(CHAIN_ACCOUNT, {}, fay.token)).data!.me.chainAccount.address as Address;
    // The outsider gets MCO2 from the minter and sends it to Fay's custodial address.
    const operatorWallet = createWalletClient({ account: operator, chain: foundry, transport: http(stack.chain.rpcUrl) });
    const outsiderWallet = createWalletClient({ account: outsider, chain: foundry, transport: http(stack.chain.rpcUrl) });
    const mined = async (hash: Promise<`0x${string}`>) => chain.waitForTransactionReceipt({ hash: await hash });
    await mined(operatorWallet.writeContract({ address: stack.chain.contracts.token, abi: carbonTokenAbi, functionName: 'mint', args: [outsider.address, 4n * TONNE] }));
    await mined(outsiderWallet.writeContract({ address: stack.chain.contracts.token, abi: carbonTokenAbi, functionName: 'transfer', args: [address, 4n * TONNE] }));

    await waitFor(async () => (await carbonOnLedger(fay)) === '4.000000000000000000', { timeoutMs: 30_000, message: 'the deposit to be credited' });
    expect(await balanceOnChain(address)).toBe(0n);
    const deposits = await stack.graphql(`{ me { transactions(filter: { type: DEPOSIT }) { edges { node { status currency amount memo } } } } }`, {}, fay.token);
    expect(deposits.data?.me.transactions.edges).toEqual([{ node: { status: 'COMPLETED', currency: 'CARBON', amount: '4.000000000000000000', memo: expect.stringMatching(/^MCO2 received on chain/) } }]);
  });
});
