import { type Address, type Hex, keccak256, maxUint96, parseEventLogs, parseUnits, toHex, zeroAddress } from 'viem';
import type { HDAccount } from 'viem/accounts';
import { beforeAll, describe, expect, it } from 'vitest';
import { carbonPaymentAbi, carbonPaymentBytecode, carbonTokenAbi } from '../artifacts/index.js';
import { type Chain, expectRevert, revertEachTest, signPermit, startChain } from './chain.js';

const TONNE = parseUnits('1', 18);
const INVOICE_1 = keccak256(toHex('invoice-1'));
const INVOICE_2 = keccak256(toHex('invoice-2'));
const PAYER_BALANCE = 100n * TONNE;

let chain: Chain;
let token: Address;
let payments: Address;

beforeAll(async () => {
  chain = await startChain();
  const { admin, payer } = accounts();
  token = await chain.deployToken(admin);
  payments = await chain.deployed(
    chain.client.deployContract({ account: admin, abi: carbonPaymentAbi, bytecode: carbonPaymentBytecode, args: [token] }),
  );
  await chain.mined(chain.client.writeContract({ account: admin, address: token, abi: carbonTokenAbi, functionName: 'mint', args: [payer.address, PAYER_BALANCE] }));
});
revertEachTest(() => chain);

function accounts() {
  const [admin, payer, merchant, stranger] = chain.accounts;
  return { admin: admin!, payer: payer!, merchant: merchant!, stranger: stranger! };
}

function balanceOf(account: Address) {
  return chain.client.readContract({ address: token, abi: carbonTokenAbi, functionName: 'balanceOf', args: [account] });
}

function approve(owner: HDAccount, amount: bigint) {
  return chain.mined(chain.client.writeContract({ account: owner, address: token, abi: carbonTokenAbi, functionName: 'approve', args: [payments, amount] }));
}

function pay(sender: HDAccount, merchant: Address, amount: bigint, reference: Hex = INVOICE_1) {
  return chain.client.writeContract({ account: sender, address: payments, abi: carbonPaymentAbi, functionName: 'pay', args: [merchant, amount, reference] });
}

function refund(sender: HDAccount, paymentId: bigint, amount: bigint) {
  return chain.client.writeContract({ account: sender, address: payments, abi: carbonPaymentAbi, functionName: 'refund', args: [paymentId, amount] });
}

function paymentById(paymentId: bigint) {
  return chain.client.readContract({ address: payments, abi: carbonPaymentAbi, functionName: 'payment', args: [paymentId] });
}

describe('pay', () => {
  it('moves tokens from payer to merchant, numbers payments from 1 and emits PaymentMade with the reference', async () => {
    const { payer, merchant } = accounts();
    await approve(payer, 10n * TONNE);
    const first = await chain.mined(pay(payer, merchant.address, 3n * TONNE, INVOICE_1));
    const second = await chain.mined(pay(payer, merchant.address, 2n * TONNE, INVOICE_2));

    const [firstMade] = parseEventLogs({ abi: carbonPaymentAbi, logs: first.logs, eventName: 'PaymentMade' });
    expect(firstMade?.args).toEqual({ paymentId: 1n, payer: payer.address, merchant: merchant.address, amount: 3n * TONNE, paymentReference: INVOICE_1 });
    const [secondMade] = parseEventLogs({ abi: carbonPaymentAbi, logs: second.logs, eventName: 'PaymentMade' });
    expect(secondMade?.args).toEqual({ paymentId: 2n, payer: payer.address, merchant: merchant.address, amount: 2n * TONNE, paymentReference: INVOICE_2 });
    const [transfer] = parseEventLogs({ abi: carbonTokenAbi, logs: first.logs, eventName: 'Transfer' });
    expect(transfer?.args).toEqual({ from: payer.address, to: merchant.address, value: 3n * TONNE });

    expect(await balanceOf(payer.address)).toBe(PAYER_BALANCE - 5n * TONNE);
    expect(await balanceOf(merchant.address)).toBe(5n * TONNE);
    // Tokens pass straight through: the contract never holds any.
    expect(await balanceOf(payments)).toBe(0n);
    expect(await paymentById(1n)).toEqual({ payer: payer.address, merchant: merchant.address, amount: 3n * TONNE, refunded: 0n });
    expect(await chain.client.readContract({ address: payments, abi: carbonPaymentAbi, functionName: 'paymentCount' })).toBe(2n);
  });

  it('refuses paying without enough allowance or balance', async () => {
    const { payer, merchant } = accounts();
    await expectRevert(pay(payer, merchant.address, TONNE), 'ERC20InsufficientAllowance', [payments, 0n, TONNE]);
    await approve(payer, PAYER_BALANCE + 1n);
    await expectRevert(pay(payer, merchant.address, PAYER_BALANCE + 1n), 'ERC20InsufficientBalance', [payer.address, PAYER_BALANCE, PAYER_BALANCE + 1n]);
  });

  it('refuses a zero amount, a zero merchant, paying oneself and an amount above PAYMENT_AMOUNT_MAX', async () => {
    const { payer, merchant } = accounts();
    await approve(payer, PAYER_BALANCE);
    await expectRevert(pay(payer, merchant.address, 0n), 'ZeroAmount', []);
    await expectRevert(pay(payer, zeroAddress, TONNE), 'ZeroAddress', []);
    await expectRevert(pay(payer, payer.address, TONNE), 'SelfPayment', []);
    await expectRevert(pay(payer, merchant.address, maxUint96 + 1n), 'AmountTooLarge', [maxUint96 + 1n, maxUint96]);
  });

  it('refuses deployment without a token', async () => {
    const { admin } = accounts();
    await expectRevert(
      chain.client.deployContract({ account: admin, abi: carbonPaymentAbi, bytecode: carbonPaymentBytecode, args: [zeroAddress] }),
      'ZeroAddress',
    );
  });
});

describe('payWithPermit', () => {
  async function permitFor(owner: HDAccount, amount: bigint, options: { signer?: HDAccount; deadlineOffsetSeconds?: bigint } = {}) {
    const deadline = (await chain.latestTimestampSeconds()) + (options.deadlineOffsetSeconds ?? 3600n);
    const signature = await signPermit(chain, { token, owner, spender: payments, value: amount, deadline, signer: options.signer });
    return { deadline, ...signature };
  }

  function payWithPermit(sender: HDAccount, merchant: Address, amount: bigint, permit: { deadline: bigint; v: number; r: Hex; s: Hex }) {
    return chain.client.writeContract({
      account: sender,
      address: payments,
      abi: carbonPaymentAbi,
      functionName: 'payWithPermit',
      args: [merchant, amount, INVOICE_1, permit.deadline, permit.v, permit.r, permit.s],
    });
  }

  it('pays in one transaction without a prior approve', async () => {
    const { payer, merchant } = accounts();
    const permit = await permitFor(payer, 4n * TONNE);
    const receipt = await chain.mined(payWithPermit(payer, merchant.address, 4n * TONNE, permit));

    const [made] = parseEventLogs({ abi: carbonPaymentAbi, logs: receipt.logs, eventName: 'PaymentMade' });
    expect(made?.args).toEqual({ paymentId: 1n, payer: payer.address, merchant: merchant.address, amount: 4n * TONNE, paymentReference: INVOICE_1 });
    expect(await balanceOf(merchant.address)).toBe(4n * TONNE);
    expect(await chain.client.readContract({ address: token, abi: carbonTokenAbi, functionName: 'allowance', args: [payer.address, payments] })).toBe(0n);
    expect(await chain.client.readContract({ address: token, abi: carbonTokenAbi, functionName: 'nonces', args: [payer.address] })).toBe(1n);
  });

  it('refuses a permit signed by someone other than the payer, with the token error', async () => {
    const { payer, merchant, stranger } = accounts();
    const permit = await permitFor(payer, TONNE, { signer: stranger });
    await expectRevert(payWithPermit(payer, merchant.address, TONNE, permit), 'ERC2612InvalidSigner', [stranger.address, payer.address]);
    expect(await balanceOf(merchant.address)).toBe(0n);
  });

  it('refuses a permit past its deadline', async () => {
    const { payer, merchant } = accounts();
    const permit = await permitFor(payer, TONNE, { deadlineOffsetSeconds: -1n });
    await expectRevert(payWithPermit(payer, merchant.address, TONNE, permit), 'ERC2612ExpiredSignature', [permit.deadline]);
  });

  it('refuses a permit submitted by someone other than the payer', async () => {
    // The permit names the payer as owner, and the contract uses the sender as owner: a third party
    // holding the signature cannot spend the payer's tokens through it.
    const { payer, merchant, stranger } = accounts();
    const permit = await permitFor(payer, TONNE);
    await expectRevert(payWithPermit(stranger, merchant.address, TONNE, permit), 'ERC2612InvalidSigner', [expect.any(String), stranger.address]);
  });

  it('still pays when someone submitted the permit to the token first', async () => {
    const { payer, merchant, stranger } = accounts();
    const permit = await permitFor(payer, TONNE);
    await chain.mined(
      chain.client.writeContract({
        account: stranger,
        address: token,
        abi: carbonTokenAbi,
        functionName: 'permit',
        args: [payer.address, payments, TONNE, permit.deadline, permit.v, permit.r, permit.s],
      }),
    );
    await chain.mined(payWithPermit(payer, merchant.address, TONNE, permit));
    expect(await balanceOf(merchant.address)).toBe(TONNE);
  });
});

describe('refund', () => {
  async function paid(amount: bigint): Promise<bigint> {
    const { payer, merchant } = accounts();
    await approve(payer, amount);
    const receipt = await chain.mined(pay(payer, merchant.address, amount));
    const [made] = parseEventLogs({ abi: carbonPaymentAbi, logs: receipt.logs, eventName: 'PaymentMade' });
    return made!.args.paymentId;
  }

  it('lets the merchant refund in parts up to the paid amount, emitting the running total', async () => {
    const { payer, merchant } = accounts();
    const paymentId = await paid(10n * TONNE);
    await approve(merchant, 10n * TONNE);

    const first = await chain.mined(refund(merchant, paymentId, 4n * TONNE));
    const [firstRefund] = parseEventLogs({ abi: carbonPaymentAbi, logs: first.logs, eventName: 'PaymentRefunded' });
    expect(firstRefund?.args).toEqual({ paymentId, payer: payer.address, merchant: merchant.address, amount: 4n * TONNE, refundedTotal: 4n * TONNE });
    const second = await chain.mined(refund(merchant, paymentId, 6n * TONNE));
    const [secondRefund] = parseEventLogs({ abi: carbonPaymentAbi, logs: second.logs, eventName: 'PaymentRefunded' });
    expect(secondRefund?.args).toEqual({ paymentId, payer: payer.address, merchant: merchant.address, amount: 6n * TONNE, refundedTotal: 10n * TONNE });

    expect(await balanceOf(payer.address)).toBe(PAYER_BALANCE);
    expect(await balanceOf(merchant.address)).toBe(0n);
    expect(await paymentById(paymentId)).toEqual({ payer: payer.address, merchant: merchant.address, amount: 10n * TONNE, refunded: 10n * TONNE });
  });

  it('refuses refunding more than is left of the payment', async () => {
    const { merchant } = accounts();
    const paymentId = await paid(10n * TONNE);
    await approve(merchant, 10n * TONNE);
    await expectRevert(refund(merchant, paymentId, 10n * TONNE + 1n), 'RefundExceedsPayment', [paymentId, 10n * TONNE + 1n, 10n * TONNE]);
    await chain.mined(refund(merchant, paymentId, 7n * TONNE));
    await expectRevert(refund(merchant, paymentId, 3n * TONNE + 1n), 'RefundExceedsPayment', [paymentId, 3n * TONNE + 1n, 3n * TONNE]);
  });

  it('refuses a refund by anyone but the merchant, the payer included', async () => {
    const { payer, stranger } = accounts();
    const paymentId = await paid(TONNE);
    for (const sender of [payer, stranger]) {
      await expectRevert(refund(sender, paymentId, 1n), 'NotMerchant', [paymentId, sender.address]);
    }
  });

  it('refuses a zero refund, an unknown payment and a refund without the merchant allowance', async () => {
    const { merchant } = accounts();
    const paymentId = await paid(TONNE);
    await expectRevert(refund(merchant, paymentId, 0n), 'ZeroAmount', []);
    await expectRevert(refund(merchant, paymentId + 1n, 1n), 'PaymentNotFound', [paymentId + 1n]);
    await expectRevert(paymentById(0n), 'PaymentNotFound', [0n]);
    await expectRevert(refund(merchant, paymentId, 1n), 'ERC20InsufficientAllowance', [payments, 0n, 1n]);
  });
});
