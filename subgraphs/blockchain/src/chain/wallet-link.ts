import { randomBytes } from 'node:crypto';
import { and, eq, gt, isNull } from 'drizzle-orm';
import { type Address, encodeFunctionData, getAddress, type Hex, isHex, keccak256, toBytes } from 'viem';
import { createSiweMessage, parseSiweMessage, verifySiweMessage } from 'viem/siwe';
import { carbonAccountAbi } from '../../../../contracts/artifacts/index.js';
import { AppError, badInput } from '../../../../lib/errors.js';
import { addressSchema } from '../config.js';
import { type ChainTransactionRow, linkedWallets, walletLinkChallenges } from '../db/schema.js';
import type { BlockchainServiceDeps } from '../resolvers/context.js';
import type { SiweSettings } from './siwe-settings.js';

const MESSAGE_LENGTH_MAX = 2_000;
const STATEMENT = 'Link this wallet to my EcoCoin account.';

/** The account id CarbonAccount stores: the hash of the platform user id, so no user id is published on chain. */
export const accountIdOf = (userId: string): Hex => keccak256(toBytes(userId));

export function parseAddressInput(value: string, field: string): Address {
  const parsed = addressSchema.safeParse(value);
  if (!parsed.success) throw badInput(`${field} must be a 0x address with a valid EIP-55 checksum`, { field });
  return parsed.data;
}

/** A SIWE message for the caller to sign with `address`, with a one-time nonce that expires. */
export async function createWalletLinkChallenge(deps: BlockchainServiceDeps, siwe: SiweSettings, userId: string, address: Address) {
  const nonce = randomBytes(16).toString('hex');
  const issuedAt = new Date();
  const expiresAt = new Date(issuedAt.getTime() + siwe.challengeTtlSeconds * 1000);
  const chainId = await deps.chain.chainId();
  await deps.db.insert(walletLinkChallenges).values({ nonce, userId, address, expiresAt });
  const message = createSiweMessage({ domain: siwe.domain, address, statement: STATEMENT, uri: siwe.uri, version: '1', chainId, nonce, issuedAt, expirationTime: expiresAt });
  return { message, nonce, expiresAt };
}

/**
 * Checks the signed message (signature, domain, nonce, expiry), uses its nonce up in the same SQL transaction
 * that records the link, so a replay finds it used, and links the wallet on chain from the registrar.
 */
export async function linkWallet(deps: BlockchainServiceDeps, siwe: SiweSettings, userId: string, message: string, signature: string): Promise<{ address: Address; chainTransaction: ChainTransactionRow }> {
  if (message.length > MESSAGE_LENGTH_MAX) throw badInput(`message must be at most ${MESSAGE_LENGTH_MAX} characters`, { field: 'message' });
  if (!isHex(signature) || signature.length !== 132) throw badInput('signature must be a 65-byte 0x hex signature', { field: 'signature' });
  const fields = parseSiweMessage(message);
  if (!fields.address || !fields.nonce) throw badInput('message is not a Sign-In with Ethereum message from walletLinkChallenge', { field: 'message' });
  const now = new Date();
  const valid = await deps.chain.call('verify SIWE signature', () =>
    verifySiweMessage(deps.chain.publicClient, { message, signature, domain: siwe.domain, nonce: fields.nonce, time: now }),
  );
  if (!valid) throw badInput('The signature does not match the message, or the message is expired or for another site', { field: 'signature' });
  const address = getAddress(fields.address);
  const used = await deps.db.transaction(async (tx) => {
    const [challenge] = await tx
      .update(walletLinkChallenges)
      .set({ usedAt: now })
      .where(and(eq(walletLinkChallenges.nonce, fields.nonce as string), eq(walletLinkChallenges.userId, userId), eq(walletLinkChallenges.address, address), isNull(walletLinkChallenges.usedAt), gt(walletLinkChallenges.expiresAt, now)))
      .returning();
    if (!challenge) return false;
    const [existing] = await tx.select().from(linkedWallets).where(eq(linkedWallets.address, address));
    if (existing) throw badInput(existing.userId === userId ? 'This wallet is linked to your account already' : 'This wallet is linked to another account', { field: 'message' });
    return true;
  });
  if (!used) throw badInput('This challenge was used already, has expired, or was not issued to you; ask for a new one', { field: 'message' });
  const data = encodeFunctionData({ abi: carbonAccountAbi, functionName: 'link', args: [accountIdOf(userId), address] });
  const chainTransaction = await deps.sender.send({ signer: deps.chain.operator, kind: 'LINK_WALLET', userId, to: deps.chain.contracts.account, data });
  if (chainTransaction.status === 'FAILED') throw new AppError('BAD_USER_INPUT', `The wallet could not be linked on chain: ${chainTransaction.revertReason}`);
  await deps.db.insert(linkedWallets).values({ address, userId, chainTransactionId: chainTransaction.id });
  return { address, chainTransaction };
}
