import { type Address, keccak256, parseEventLogs, parseUnits, toHex, zeroAddress } from 'viem';
import { beforeAll, describe, expect, it } from 'vitest';
import { carbonTokenAbi, carbonTokenBytecode } from '../artifacts/index.js';
import { type Chain, expectRevert, revertEachTest, signPermit, startChain } from './chain.js';

const TONNE = parseUnits('1', 18);
const MINTER_ROLE = keccak256(toHex('MINTER_ROLE'));
const DEFAULT_ADMIN_ROLE = `0x${'00'.repeat(32)}` as const;

let chain: Chain;
let token: Address;

beforeAll(async () => {
  chain = await startChain();
  token = await chain.deployToken(chain.accounts[0]!);
});
revertEachTest(() => chain);

function accounts() {
  const [admin, alice, bob, carol] = chain.accounts;
  return { admin: admin!, alice: alice!, bob: bob!, carol: carol! };
}

function balanceOf(account: Address): Promise<bigint> {
  return chain.client.readContract({ address: token, abi: carbonTokenAbi, functionName: 'balanceOf', args: [account] });
}

function retiredBy(account: Address): Promise<bigint> {
  return chain.client.readContract({ address: token, abi: carbonTokenAbi, functionName: 'retiredBy', args: [account] });
}

async function mint(to: Address, amount: bigint) {
  const { admin } = accounts();
  return chain.mined(chain.client.writeContract({ account: admin, address: token, abi: carbonTokenAbi, functionName: 'mint', args: [to, amount] }));
}

describe('CarbonToken metadata and roles', () => {
  it('is "Moss Carbon Credit" (MCO2) with 18 decimals and no supply at first', async () => {
    const read = (functionName: 'name' | 'symbol' | 'decimals' | 'totalSupply') =>
      chain.client.readContract({ address: token, abi: carbonTokenAbi, functionName });
    expect(await read('name')).toBe('Moss Carbon Credit');
    expect(await read('symbol')).toBe('MCO2');
    expect(await read('decimals')).toBe(18);
    expect(await read('totalSupply')).toBe(0n);
    expect(MINTER_ROLE).toBe(await chain.client.readContract({ address: token, abi: carbonTokenAbi, functionName: 'MINTER_ROLE' }));
  });

  it('gives the constructor arguments the admin and minter roles', async () => {
    const { admin, bob } = accounts();
    const minter = bob;
    const address = await chain.deployed(
      chain.client.deployContract({ account: admin, abi: carbonTokenAbi, bytecode: carbonTokenBytecode, args: [admin.address, minter.address] }),
    );
    const hasRole = (role: `0x${string}`, account: Address) =>
      chain.client.readContract({ address, abi: carbonTokenAbi, functionName: 'hasRole', args: [role, account] });
    expect(await hasRole(DEFAULT_ADMIN_ROLE, admin.address)).toBe(true);
    expect(await hasRole(MINTER_ROLE, admin.address)).toBe(false);
    expect(await hasRole(MINTER_ROLE, minter.address)).toBe(true);
  });

  it('refuses a zero admin or minter at deployment', async () => {
    const { admin } = accounts();
    for (const args of [[zeroAddress, admin.address], [admin.address, zeroAddress]] as const) {
      await expectRevert(
        chain.client.deployContract({ account: admin, abi: carbonTokenAbi, bytecode: carbonTokenBytecode, args }),
        'ZeroAddress',
      );
    }
  });
});

describe('minting', () => {
  it('lets the minter mint, emitting a Transfer from the zero address', async () => {
    const { alice } = accounts();
    const receipt = await mint(alice.address, 5n * TONNE);
    const [transfer] = parseEventLogs({ abi: carbonTokenAbi, logs: receipt.logs, eventName: 'Transfer' });
    expect(transfer?.args).toEqual({ from: zeroAddress, to: alice.address, value: 5n * TONNE });
    expect(await balanceOf(alice.address)).toBe(5n * TONNE);
  });

  it('refuses minting by an account without MINTER_ROLE', async () => {
    const { alice } = accounts();
    await expectRevert(
      chain.client.writeContract({ account: alice, address: token, abi: carbonTokenAbi, functionName: 'mint', args: [alice.address, TONNE] }),
      'AccessControlUnauthorizedAccount',
      [alice.address, MINTER_ROLE],
    );
  });

  it('refuses minting zero', async () => {
    const { admin, alice } = accounts();
    await expectRevert(
      chain.client.writeContract({ account: admin, address: token, abi: carbonTokenAbi, functionName: 'mint', args: [alice.address, 0n] }),
      'ZeroAmount',
      [],
    );
  });

  it('lets the admin grant and revoke MINTER_ROLE', async () => {
    const { admin, bob } = accounts();
    const write = (functionName: 'grantRole' | 'revokeRole') =>
      chain.mined(chain.client.writeContract({ account: admin, address: token, abi: carbonTokenAbi, functionName, args: [MINTER_ROLE, bob.address] }));
    const mintAsBob = () =>
      chain.client.writeContract({ account: bob, address: token, abi: carbonTokenAbi, functionName: 'mint', args: [bob.address, TONNE] });

    await write('grantRole');
    await chain.mined(mintAsBob());
    expect(await balanceOf(bob.address)).toBe(TONNE);
    await write('revokeRole');
    await expectRevert(mintAsBob(), 'AccessControlUnauthorizedAccount', [bob.address, MINTER_ROLE]);
  });

  it('refuses granting roles by an account that is not admin', async () => {
    const { bob } = accounts();
    await expectRevert(
      chain.client.writeContract({ account: bob, address: token, abi: carbonTokenAbi, functionName: 'grantRole', args: [MINTER_ROLE, bob.address] }),
      'AccessControlUnauthorizedAccount',
      [bob.address, DEFAULT_ADMIN_ROLE],
    );
  });
});

describe('burning', () => {
  it('lets a holder burn their own tokens, and others only within an allowance', async () => {
    const { alice, bob } = accounts();
    await mint(alice.address, 10n * TONNE);
    await chain.mined(chain.client.writeContract({ account: alice, address: token, abi: carbonTokenAbi, functionName: 'burn', args: [3n * TONNE] }));
    await chain.mined(chain.client.writeContract({ account: alice, address: token, abi: carbonTokenAbi, functionName: 'approve', args: [bob.address, 2n * TONNE] }));
    await chain.mined(
      chain.client.writeContract({ account: bob, address: token, abi: carbonTokenAbi, functionName: 'burnFrom', args: [alice.address, 2n * TONNE] }),
    );
    await expectRevert(
      chain.client.writeContract({ account: bob, address: token, abi: carbonTokenAbi, functionName: 'burnFrom', args: [alice.address, 1n] }),
      'ERC20InsufficientAllowance',
      [bob.address, 0n, 1n],
    );
    expect(await balanceOf(alice.address)).toBe(5n * TONNE);
    expect(await chain.client.readContract({ address: token, abi: carbonTokenAbi, functionName: 'totalSupply' })).toBe(5n * TONNE);
  });

  it('refuses burning more than the balance', async () => {
    const { alice } = accounts();
    await mint(alice.address, TONNE);
    await expectRevert(
      chain.client.writeContract({ account: alice, address: token, abi: carbonTokenAbi, functionName: 'burn', args: [TONNE + 1n] }),
      'ERC20InsufficientBalance',
      [alice.address, TONNE, TONNE + 1n],
    );
  });
});

describe('retirement', () => {
  function retire(account: ReturnType<typeof accounts>['alice'], amount: bigint, beneficiary: string, message: string) {
    return chain.client.writeContract({ account, address: token, abi: carbonTokenAbi, functionName: 'retire', args: [amount, beneficiary, message] });
  }

  it('burns the tokens, numbers certificates from 1, and keeps totals per account and overall', async () => {
    const { alice, bob } = accounts();
    await mint(alice.address, 10n * TONNE);
    await mint(bob.address, 10n * TONNE);

    const first = await chain.mined(retire(alice, 3n * TONNE, 'Acme Ltd', 'Flights 2025'));
    const second = await chain.mined(retire(bob, 1n * TONNE, '', ''));
    await chain.mined(retire(alice, 2n * TONNE, 'Acme Ltd', 'Office 2025'));

    const firstEvents = parseEventLogs({ abi: carbonTokenAbi, logs: first.logs });
    expect(firstEvents.map((event) => event.eventName)).toEqual(['Transfer', 'Retired']);
    expect(firstEvents[0]?.args).toEqual({ from: alice.address, to: zeroAddress, value: 3n * TONNE });
    expect(firstEvents[1]?.args).toEqual({ id: 1n, account: alice.address, amount: 3n * TONNE, beneficiary: 'Acme Ltd', message: 'Flights 2025' });
    const [secondRetired] = parseEventLogs({ abi: carbonTokenAbi, logs: second.logs, eventName: 'Retired' });
    expect(secondRetired?.args.id).toBe(2n);

    expect(await retiredBy(alice.address)).toBe(5n * TONNE);
    expect(await retiredBy(bob.address)).toBe(1n * TONNE);
    expect(await balanceOf(alice.address)).toBe(5n * TONNE);
    const view = (functionName: 'totalRetired' | 'totalSupply' | 'retirementCount') =>
      chain.client.readContract({ address: token, abi: carbonTokenAbi, functionName });
    expect(await view('totalRetired')).toBe(6n * TONNE);
    expect(await view('totalSupply')).toBe(14n * TONNE);
    expect(await view('retirementCount')).toBe(3n);
  });

  it('returns a certificate by id with the block time, and refuses ids never issued', async () => {
    const { alice } = accounts();
    await mint(alice.address, TONNE);
    const receipt = await chain.mined(retire(alice, TONNE / 4n, 'Jane Doe', 'Birthday offset'));
    const block = await chain.client.getBlock({ blockNumber: receipt.blockNumber });

    const certificate = await chain.client.readContract({ address: token, abi: carbonTokenAbi, functionName: 'retirement', args: [1n] });
    expect(certificate).toEqual({
      account: alice.address,
      timestamp: block.timestamp,
      amount: TONNE / 4n,
      beneficiary: 'Jane Doe',
      message: 'Birthday offset',
    });
    for (const id of [0n, 2n]) {
      await expectRevert(
        chain.client.readContract({ address: token, abi: carbonTokenAbi, functionName: 'retirement', args: [id] }),
        'RetirementNotFound',
        [id],
      );
    }
  });

  it('refuses retiring zero or more than the balance', async () => {
    const { alice } = accounts();
    await mint(alice.address, TONNE);
    await expectRevert(retire(alice, 0n, 'x', 'y'), 'ZeroAmount', []);
    await expectRevert(retire(alice, TONNE + 1n, 'x', 'y'), 'ERC20InsufficientBalance', [alice.address, TONNE, TONNE + 1n]);
    expect(await retiredBy(alice.address)).toBe(0n);
  });

  it('accepts texts up to their limits in bytes and refuses longer ones', async () => {
    const { alice } = accounts();
    await mint(alice.address, 3n);
    // "é" is two bytes of UTF-8: the limit counts bytes, not characters.
    await chain.mined(retire(alice, 1n, 'é'.repeat(64), 'm'.repeat(512)));
    await expectRevert(retire(alice, 1n, `${'é'.repeat(64)}x`, ''), 'TextTooLong', [129n, 128n]);
    await expectRevert(retire(alice, 1n, '', 'm'.repeat(513)), 'TextTooLong', [513n, 512n]);
  });
});

describe('permit (EIP-2612)', () => {
  it('sets an allowance from a signature and uses up the nonce', async () => {
    const { alice, bob } = accounts();
    const deadline = (await chain.latestTimestampSeconds()) + 3600n;
    const { v, r, s } = await signPermit(chain, { token, owner: alice, spender: bob.address, value: 7n, deadline });
    // Anyone may submit the signature; bob pays the gas here.
    const permit = () =>
      chain.client.writeContract({ account: bob, address: token, abi: carbonTokenAbi, functionName: 'permit', args: [alice.address, bob.address, 7n, deadline, v, r, s] });
    await chain.mined(permit());

    expect(await chain.client.readContract({ address: token, abi: carbonTokenAbi, functionName: 'allowance', args: [alice.address, bob.address] })).toBe(7n);
    expect(await chain.client.readContract({ address: token, abi: carbonTokenAbi, functionName: 'nonces', args: [alice.address] })).toBe(1n);
    // The same signature again recovers another address, as the nonce in the signed message is used up.
    await expectRevert(permit(), 'ERC2612InvalidSigner');
  });

  it('refuses a signature by someone other than the owner', async () => {
    const { alice, bob, carol } = accounts();
    const deadline = (await chain.latestTimestampSeconds()) + 3600n;
    const { v, r, s } = await signPermit(chain, { token, owner: alice, spender: bob.address, value: 7n, deadline, signer: carol });
    await expectRevert(
      chain.client.writeContract({ account: bob, address: token, abi: carbonTokenAbi, functionName: 'permit', args: [alice.address, bob.address, 7n, deadline, v, r, s] }),
      'ERC2612InvalidSigner',
      [carol.address, alice.address],
    );
  });

  it('refuses a signature past its deadline', async () => {
    const { alice, bob } = accounts();
    const deadline = (await chain.latestTimestampSeconds()) - 1n;
    const { v, r, s } = await signPermit(chain, { token, owner: alice, spender: bob.address, value: 7n, deadline });
    await expectRevert(
      chain.client.writeContract({ account: bob, address: token, abi: carbonTokenAbi, functionName: 'permit', args: [alice.address, bob.address, 7n, deadline, v, r, s] }),
      'ERC2612ExpiredSignature',
      [deadline],
    );
  });
});
