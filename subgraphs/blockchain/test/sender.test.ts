import { randomBytes } from 'node:crypto';
import { encodeFunctionData, keccak256, parseEther } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { carbonStakingAbi, carbonTokenAbi } from '../../../contracts/artifacts/index.js';
import { LOST_AFTER_MS } from '../src/chain/records.js';
import { Sender } from '../src/chain/sender.js';
import { startTracker } from '../src/chain/tracker.js';
import { waitFor } from '../../../test/support/wait.js';
import { type DeployedChain, newUserId, startDeployedChain, startParts, TONNE } from './harness.js';

let chain: DeployedChain;
let parts: Awaited<ReturnType<typeof startParts>>;
let tracker: ReturnType<typeof startTracker>;

beforeAll(async () => {
  chain = await startDeployedChain();
  parts = await startParts({ rpcUrl: chain.anvil.rpcUrl, contracts: chain.contracts, env: { CONFIRMATIONS: '3' } });
  tracker = startTracker({ chain: parts.chain, db: parts.db, pollIntervalMs: 50 });
});
afterAll(async () => {
  await tracker?.stop();
  await parts?.close();
  await chain?.anvil.stop();
});

const statusOf = async (id: string) => (await parts.sql`select status, revert_reason, nonce from chain_transactions where id = ${id}`)[0];

/**
 * Records a mint from the operator SUBMITTED at `nonce` under a hash the node never saw, as a crash between
 * its record and its broadcast leaves it; `ageMs` back.
 */
async function recordLost(nonce: number, ageMs: number, reference: string | null = null): Promise<string> {
  const hash = `0x${randomBytes(32).toString('hex')}`;
  const [row] = await parts.sql`
    insert into chain_transactions (kind, reference, signer, nonce, hash, status, created_at)
    values ('MINT', ${reference}, ${parts.chain.operator.address}, ${nonce}, ${hash}, 'SUBMITTED', now() - make_interval(secs => ${ageMs / 1000}))
    returning id`;
  return row?.id as string;
}

const backdate = (id: string, ageMs: number) => parts.sql`update chain_transactions set created_at = now() - make_interval(secs => ${ageMs / 1000}) where id = ${id}`;

describe('sending from one signer', () => {
  it('gives 10 concurrent mints from the operator 10 distinct nonces, and all of them are mined', async () => {
    const account = await parts.custody.accountOf(newUserId());
    const mint = () =>
      parts.sender.send({
        signer: parts.chain.operator,
        kind: 'MINT',
        userId: account.userId,
        to: chain.contracts.token,
        data: encodeFunctionData({ abi: carbonTokenAbi, functionName: 'mint', args: [account.address as `0x${string}`, TONNE] }),
      });
    const sent = await Promise.all(Array.from({ length: 10 }, mint));
    expect(sent.map((row) => row.status)).toEqual(Array(10).fill('SUBMITTED'));
    expect(new Set(sent.map((row) => row.nonce)).size).toBe(10);
    await waitFor(async () => (await chain.carbonBalance(account.address as `0x${string}`)) === 10n * TONNE, { timeoutMs: 10_000, message: 'ten tonnes minted' });
    // Three confirmations: the chain must grow two blocks past the last mint.
    await chain.client.request({ method: 'anvil_mine' as never, params: ['0x2'] as never });
    await waitFor(async () => (await Promise.all(sent.map((row) => statusOf(row.id)))).every((row) => row?.status === 'CONFIRMED'), { timeoutMs: 10_000, message: 'all ten confirmed' });
  });

  it('gives concurrent mints through two senders on one database (two instances) distinct nonces, and all of them are mined', async () => {
    const account = await parts.custody.accountOf(newUserId());
    const other = new Sender(parts.chain, parts.sql);
    const mint = (sender: Sender) =>
      sender.send({
        signer: parts.chain.operator,
        kind: 'MINT',
        userId: account.userId,
        to: chain.contracts.token,
        data: encodeFunctionData({ abi: carbonTokenAbi, functionName: 'mint', args: [account.address as `0x${string}`, TONNE] }),
      });
    const sent = await Promise.all(Array.from({ length: 16 }, (_, index) => mint(index % 2 === 0 ? parts.sender : other)));
    expect(sent.map((row) => row.status)).toEqual(Array(16).fill('SUBMITTED'));
    expect(new Set(sent.map((row) => row.nonce)).size).toBe(16);
    await waitFor(async () => (await chain.carbonBalance(account.address as `0x${string}`)) === 16n * TONNE, { timeoutMs: 10_000, message: 'sixteen tonnes minted' });
  });

  it('refuses a send whose nonce another send recorded first, before broadcasting it', async () => {
    const operator = parts.chain.operator.address;
    const pay = () => parts.sender.send({ signer: parts.chain.operator, kind: 'TRANSFER', userId: null, to: '0x000000000000000000000000000000000000dEaD', value: 1n });
    // Another instance records the same nonce between this send's choice of nonce and its own record, as it could
    // if this one's lock had gone with its connection.
    await parts.sql.unsafe(`
      create function take_the_nonce_first() returns trigger language plpgsql as $$
      begin
        if new.kind = 'TRANSFER' and new.nonce is not null and new.hash <> 'the other send' then
          insert into chain_transactions (kind, signer, nonce, hash, status) values ('TRANSFER', new.signer, new.nonce, 'the other send', 'SUBMITTED');
        end if;
        return new;
      end $$;
      create trigger take_the_nonce_first before insert on chain_transactions for each row execute function take_the_nonce_first();`);
    const pendingBefore = await chain.client.getTransactionCount({ address: operator, blockTag: 'pending' });
    try {
      await expect(pay()).rejects.toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', message: expect.stringContaining(`nonce ${pendingBefore}`) });
    } finally {
      await parts.sql.unsafe('drop trigger take_the_nonce_first on chain_transactions; drop function take_the_nonce_first();');
    }
    expect(await chain.client.getTransactionCount({ address: operator, blockTag: 'pending' })).toBe(pendingBefore);
    expect((await parts.sql`select count(*)::int as count from chain_transactions where signer = ${operator} and nonce = ${pendingBefore}`)[0]?.count).toBe(0);
    // Nothing holds the nonce: the next send takes it.
    const next = await pay();
    expect(next.nonce).toBe(pendingBefore);
    await waitFor(async () => (await statusOf(next.id))?.status !== 'SUBMITTED', { timeoutMs: 10_000, message: 'the next send mined' });
  });

  it('ends a recorded transaction that never reached the node FAILED and reuses its nonce, so the sends queued behind its gap are mined', async () => {
    const account = await parts.custody.accountOf(newUserId());
    const mint = () =>
      parts.sender.send({
        signer: parts.chain.operator,
        kind: 'MINT',
        userId: account.userId,
        to: chain.contracts.token,
        data: encodeFunctionData({ abi: carbonTokenAbi, functionName: 'mint', args: [account.address as `0x${string}`, TONNE] }),
      });
    const operator = parts.chain.operator.address;
    // The sender alone finds the lost transaction here; the tracker's own way to it has a test below.
    await tracker.stop();
    try {
      const gap = await chain.client.getTransactionCount({ address: operator, blockTag: 'pending' });
      const lost = await recordLost(gap, 0);
      // Recorded just now, its broadcast might still reach the node: its nonce is kept, and the next send waits behind it.
      const queued = await mint();
      expect(queued).toMatchObject({ status: 'SUBMITTED', nonce: gap + 1 });
      expect(await statusOf(lost)).toMatchObject({ status: 'SUBMITTED' });
      expect(await chain.client.getTransactionCount({ address: operator, blockTag: 'pending' })).toBe(gap);
      // LOST_AFTER_MS on, the node still does not know it; the queued send, which the node does know, keeps its nonce.
      await backdate(lost, LOST_AFTER_MS + 60_000);
      await backdate(queued.id, LOST_AFTER_MS + 60_000);
      const filling = await mint();
      expect(filling).toMatchObject({ status: 'SUBMITTED', nonce: gap });
      expect(await statusOf(lost)).toEqual({ status: 'FAILED', nonce: gap, revert_reason: `never reached the node (or the node dropped it); nonce ${gap} reused` });
      expect(await statusOf(queued.id)).toMatchObject({ status: 'SUBMITTED', nonce: gap + 1 });
      for (const sent of [filling, queued]) expect((await chain.mined(Promise.resolve(sent.hash as `0x${string}`))).status).toBe('success');
      expect(await chain.carbonBalance(account.address as `0x${string}`)).toBe(2n * TONNE);
    } finally {
      tracker = startTracker({ chain: parts.chain, db: parts.db, pollIntervalMs: 50 });
    }
  });

  it('has the tracker end a lost transaction no later send finds, and the next send takes its nonce', async () => {
    const operator = parts.chain.operator.address;
    const gap = await chain.client.getTransactionCount({ address: operator, blockTag: 'pending' });
    const young = await recordLost(gap, 0);
    await tracker.pass();
    expect(await statusOf(young)).toMatchObject({ status: 'SUBMITTED' });
    await backdate(young, LOST_AFTER_MS + 60_000);
    const ended = await waitFor(async () => {
      const current = await statusOf(young);
      return current?.status === 'FAILED' && current;
    }, { timeoutMs: 10_000, message: 'the tracker to end the lost transaction' });
    expect(ended.revert_reason).toBe(`never reached the node (or the node dropped it); nonce ${gap} reused`);
    const next = await parts.sender.send({ signer: parts.chain.operator, kind: 'TRANSFER', userId: null, to: '0x000000000000000000000000000000000000dEaD', value: 1n });
    expect(next.nonce).toBe(gap);
    await waitFor(async () => (await statusOf(next.id))?.status !== 'SUBMITTED', { timeoutMs: 10_000, message: 'the next send mined' });
  });

  it('signs the send that reuses a lost nonce with a wei more of tip when it would otherwise have the lost one\'s very hash', async () => {
    const operator = parts.chain.operator;
    const transfer = { to: '0x000000000000000000000000000000000000dEaD', value: 1n, gas: 21_000n } as const;
    const gap = await chain.client.getTransactionCount({ address: operator.address, blockTag: 'pending' });
    const fees = await parts.chain.publicClient.estimateFeesPerGas();
    // The lost transaction was this same transfer, at this nonce and these fees.
    const same = await operator.signTransaction({ type: 'eip1559', chainId: await parts.chain.chainId(), nonce: gap, ...transfer, ...fees });
    const [lost] = await parts.sql`
      insert into chain_transactions (kind, signer, nonce, hash, status, created_at)
      values ('TRANSFER', ${operator.address}, ${gap}, ${keccak256(same)}, 'SUBMITTED', now() - make_interval(secs => ${LOST_AFTER_MS / 1000 + 60}))
      returning id`;
    const sent = await parts.sender.send({ signer: operator, kind: 'TRANSFER', userId: null, ...transfer });
    expect(sent).toMatchObject({ status: 'SUBMITTED', nonce: gap });
    expect(sent.hash).not.toBe(keccak256(same));
    expect(await statusOf(lost?.id)).toMatchObject({ status: 'FAILED', nonce: gap });
    const mined = await chain.client.getTransaction({ hash: sent.hash as `0x${string}` });
    expect(mined.maxPriorityFeePerGas).toBe(fees.maxPriorityFeePerGas + 1n);
    await waitFor(async () => (await statusOf(sent.id))?.status !== 'SUBMITTED', { timeoutMs: 10_000, message: 'the send mined' });
  });

  it('refuses in the schema itself a second record of a nonce that may be on chain, and lets a FAILED one go', async () => {
    const signer = '0x00000000000000000000000000000000000000aa';
    const row = (hash: string, status: string) => ({ kind: 'MINT', signer, nonce: 7, hash, status });
    const rollBack: Error & { second?: unknown } = new Error('roll back');
    // Rolled back at the end, so the tracker of this file never follows these made-up transactions.
    const refusal = await parts.sql
      .begin(async (tx) => {
        // A transaction the node refused (FAILED) leaves its nonce to the next one.
        await tx`insert into chain_transactions ${tx([row('refused', 'FAILED'), row('first', 'SUBMITTED')])}`;
        const second = await tx.savepoint((savepoint) => savepoint`insert into chain_transactions ${savepoint(row('second', 'SUBMITTED'))}`).catch((error: unknown) => error);
        throw Object.assign(rollBack, { second });
      })
      .catch((error: unknown) => (error === rollBack ? rollBack.second : error));
    expect(refusal).toMatchObject({ code: '23505', constraint_name: 'chain_transactions_signer_nonce_idx' });
  });

  it('keeps a transaction MINED until it is CONFIRMATIONS blocks deep', async () => {
    const account = await parts.custody.accountOf(newUserId());
    const row = await parts.sender.send({
      signer: parts.chain.operator,
      kind: 'MINT',
      userId: account.userId,
      to: chain.contracts.token,
      data: encodeFunctionData({ abi: carbonTokenAbi, functionName: 'mint', args: [account.address as `0x${string}`, TONNE] }),
    });
    await waitFor(async () => (await statusOf(row.id))?.status === 'MINED', { timeoutMs: 10_000, message: 'mined' });
    await tracker.pass();
    expect((await statusOf(row.id))?.status).toBe('MINED');
    await chain.client.request({ method: 'anvil_mine' as never, params: ['0x2'] as never });
    await waitFor(async () => (await statusOf(row.id))?.status === 'CONFIRMED', { timeoutMs: 10_000, message: 'confirmed' });
  });

  it('records a call whose estimate reverts as FAILED with the decoded reason, signing nothing', async () => {
    const account = await parts.custody.accountOf(newUserId());
    const row = await parts.sender.send({
      signer: parts.custody.signerOf(account),
      kind: 'UNSTAKE',
      userId: account.userId,
      to: chain.contracts.staking,
      data: encodeFunctionData({ abi: carbonStakingAbi, functionName: 'unstake', args: [5n] }),
    });
    expect(row).toMatchObject({ status: 'FAILED', hash: null, nonce: null, revertReason: 'InsufficientStake(5, 0)' });
  });

  it('ends a transaction that reverts on chain FAILED, with the reason decoded by replaying it', async () => {
    const account = await parts.custody.accountOf(newUserId());
    const row = await parts.sender.send({
      signer: parts.custody.signerOf(account),
      kind: 'UNSTAKE',
      userId: account.userId,
      to: chain.contracts.staking,
      data: encodeFunctionData({ abi: carbonStakingAbi, functionName: 'unstake', args: [7n] }),
      gas: 200_000n,
    });
    expect(row.status).toBe('SUBMITTED');
    const settled = await waitFor(async () => {
      const current = await statusOf(row.id);
      return current?.status === 'FAILED' && current;
    }, { timeoutMs: 10_000, message: 'the revert to be seen' });
    expect(settled.revert_reason).toBe('InsufficientStake(7, 0)');
  });
});
