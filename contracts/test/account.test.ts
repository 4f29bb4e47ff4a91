import { type Address, type Hex, keccak256, parseEventLogs, toHex, zeroAddress, zeroHash } from 'viem';
import type { HDAccount } from 'viem/accounts';
import { beforeAll, describe, expect, it } from 'vitest';
import { carbonAccountAbi, carbonAccountBytecode } from '../artifacts/index.js';
import { type Chain, expectRevert, revertEachTest, startChain } from './chain.js';

const REGISTRAR_ROLE = keccak256(toHex('REGISTRAR_ROLE'));
/** Platform account ids are hashes made off chain; these stand in for them. */
const ACCOUNT_A = keccak256(toHex('platform-account-a'));
const ACCOUNT_B = keccak256(toHex('platform-account-b'));

let chain: Chain;
let registry: Address;

beforeAll(async () => {
  chain = await startChain();
  const [admin, registrar] = chain.accounts;
  registry = await chain.deployed(
    chain.client.deployContract({
      account: admin!,
      abi: carbonAccountAbi,
      bytecode: carbonAccountBytecode,
      args: [admin!.address, registrar!.address],
    }),
  );
});
revertEachTest(() => chain);

function accounts() {
  const [admin, registrar, alice, bob, carol] = chain.accounts;
  return { admin: admin!, registrar: registrar!, alice: alice!, bob: bob!, carol: carol! };
}

function link(accountId: Hex, wallet: Address, sender: HDAccount = accounts().registrar) {
  return chain.client.writeContract({ account: sender, address: registry, abi: carbonAccountAbi, functionName: 'link', args: [accountId, wallet] });
}

function unlink(wallet: Address, sender: HDAccount = accounts().registrar) {
  return chain.client.writeContract({ account: sender, address: registry, abi: carbonAccountAbi, functionName: 'unlink', args: [wallet] });
}

function accountOf(wallet: Address) {
  return chain.client.readContract({ address: registry, abi: carbonAccountAbi, functionName: 'accountOf', args: [wallet] });
}

function walletsOf(accountId: Hex) {
  return chain.client.readContract({ address: registry, abi: carbonAccountAbi, functionName: 'walletsOf', args: [accountId] });
}

describe('CarbonAccount linking', () => {
  it('links a wallet to an account, both ways, with an AccountLinked event', async () => {
    const { alice } = accounts();
    const receipt = await chain.mined(link(ACCOUNT_A, alice.address));
    const events = parseEventLogs({ abi: carbonAccountAbi, logs: receipt.logs });
    expect(events.map((event) => [event.eventName, event.args])).toEqual([['AccountLinked', { accountId: ACCOUNT_A, wallet: alice.address }]]);
    expect(await accountOf(alice.address)).toBe(ACCOUNT_A);
    expect(await walletsOf(ACCOUNT_A)).toEqual([alice.address]);
  });

  it('gives an account several wallets and unlinks one without touching the others', async () => {
    const { alice, bob, carol } = accounts();
    await chain.mined(link(ACCOUNT_A, alice.address));
    await chain.mined(link(ACCOUNT_A, bob.address));
    await chain.mined(link(ACCOUNT_B, carol.address));
    expect([...(await walletsOf(ACCOUNT_A))].sort()).toEqual([alice.address, bob.address].sort());

    const receipt = await chain.mined(unlink(alice.address));
    const events = parseEventLogs({ abi: carbonAccountAbi, logs: receipt.logs });
    expect(events.map((event) => [event.eventName, event.args])).toEqual([['AccountUnlinked', { accountId: ACCOUNT_A, wallet: alice.address }]]);
    expect(await accountOf(alice.address)).toBe(zeroHash);
    expect(await accountOf(bob.address)).toBe(ACCOUNT_A);
    expect(await walletsOf(ACCOUNT_A)).toEqual([bob.address]);
    expect(await walletsOf(ACCOUNT_B)).toEqual([carol.address]);
  });

  it('answers zero and an empty list for what was never linked', async () => {
    const { alice } = accounts();
    expect(await accountOf(alice.address)).toBe(zeroHash);
    expect(await walletsOf(ACCOUNT_A)).toEqual([]);
  });

  it('refuses linking a wallet that is linked already, to the same account or another', async () => {
    const { alice } = accounts();
    await chain.mined(link(ACCOUNT_A, alice.address));
    await expectRevert(link(ACCOUNT_A, alice.address), 'WalletAlreadyLinked', [alice.address, ACCOUNT_A]);
    await expectRevert(link(ACCOUNT_B, alice.address), 'WalletAlreadyLinked', [alice.address, ACCOUNT_A]);
  });

  it('moves a wallet to another account only by unlinking it first', async () => {
    const { alice } = accounts();
    await chain.mined(link(ACCOUNT_A, alice.address));
    await chain.mined(unlink(alice.address));
    await chain.mined(link(ACCOUNT_B, alice.address));
    expect(await accountOf(alice.address)).toBe(ACCOUNT_B);
    expect(await walletsOf(ACCOUNT_A)).toEqual([]);
  });

  it('refuses unlinking a wallet that is not linked', async () => {
    const { alice } = accounts();
    await expectRevert(unlink(alice.address), 'WalletNotLinked', [alice.address]);
  });

  it('refuses the zero address and the zero account id', async () => {
    const { alice } = accounts();
    await expectRevert(link(ACCOUNT_A, zeroAddress), 'ZeroAddress', []);
    await expectRevert(link(zeroHash, alice.address), 'ZeroAccountId', []);
  });

  it('refuses a wallet beyond WALLETS_PER_ACCOUNT_MAX for one account', async () => {
    const walletsMax = await chain.client.readContract({ address: registry, abi: carbonAccountAbi, functionName: 'WALLETS_PER_ACCOUNT_MAX' });
    expect(walletsMax).toBe(16n);
    const wallets = Array.from({ length: Number(walletsMax) + 1 }, (_, index) => toHex(index + 1, { size: 20 }));
    for (const wallet of wallets.slice(0, -1)) await chain.mined(link(ACCOUNT_A, wallet));
    await expectRevert(link(ACCOUNT_A, wallets.at(-1)!), 'TooManyWallets', [ACCOUNT_A, walletsMax]);
    // The limit is per account, and a freed place can be used again.
    await chain.mined(link(ACCOUNT_B, wallets.at(-1)!));
    await chain.mined(unlink(wallets[0]!));
    await chain.mined(link(ACCOUNT_A, wallets[0]!));
    expect(await walletsOf(ACCOUNT_A)).toHaveLength(Number(walletsMax));
  });
});

describe('CarbonAccount roles', () => {
  it('refuses linking and unlinking by an account without REGISTRAR_ROLE, the admin included', async () => {
    const { admin, registrar, alice, bob } = accounts();
    await chain.mined(link(ACCOUNT_A, bob.address, registrar));
    for (const sender of [admin, alice]) {
      await expectRevert(link(ACCOUNT_A, alice.address, sender), 'AccessControlUnauthorizedAccount', [sender.address, REGISTRAR_ROLE]);
      await expectRevert(unlink(bob.address, sender), 'AccessControlUnauthorizedAccount', [sender.address, REGISTRAR_ROLE]);
    }
  });

  it('lets the admin make another registrar', async () => {
    const { admin, alice } = accounts();
    await chain.mined(
      chain.client.writeContract({ account: admin, address: registry, abi: carbonAccountAbi, functionName: 'grantRole', args: [REGISTRAR_ROLE, alice.address] }),
    );
    await chain.mined(link(ACCOUNT_A, alice.address, alice));
    expect(await accountOf(alice.address)).toBe(ACCOUNT_A);
  });

  it('refuses a zero admin or registrar at deployment', async () => {
    const { admin } = accounts();
    for (const args of [[zeroAddress, admin.address], [admin.address, zeroAddress]] as const) {
      await expectRevert(
        chain.client.deployContract({ account: admin, abi: carbonAccountAbi, bytecode: carbonAccountBytecode, args }),
        'ZeroAddress',
      );
    }
  });
});
