import { eq, inArray, sql } from 'drizzle-orm';
import type { PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import { type Address, getAddress, parseEther } from 'viem';
import type { HDAccount } from 'viem/accounts';
import { AppError } from '../../../../lib/errors.js';
import type * as schema from '../db/schema.js';
import { type CustodyAccountRow, custodyAccounts } from '../db/schema.js';
import type { Chain } from './clients.js';
import type { Sender } from './sender.js';

/** How long opening an account waits for its gas to be mined. */
const GAS_FUNDING_WAIT_MS = 30_000;

export interface Custody {
  /** The user's custodial account, made on first use (and funded with gas in development). */
  accountOf(userId: string): Promise<CustodyAccountRow>;
  /** The existing account, without making one. */
  findAccount(userId: string): Promise<CustodyAccountRow | undefined>;
  signerOf(account: CustodyAccountRow): HDAccount;
  /** User ids of custodial addresses, for the indexer. */
  usersOf(addresses: readonly Address[]): Promise<Map<Address, string>>;
}

export interface CustodyOptions {
  chain: Chain;
  db: PostgresJsDatabase<typeof schema>;
  sender: Sender;
  gasFundingEth: string;
  /** Resolves when the user exists; NOT_FOUND (or UPSTREAM_UNAVAILABLE) otherwise. Asked before an account is opened. */
  checkUser(userId: string): Promise<void>;
}

export function createCustody(options: CustodyOptions): Custody {
  const { chain, db, sender } = options;
  const gasFundingWei = parseEther(options.gasFundingEth);

  const findAccount = async (userId: string) => (await db.select().from(custodyAccounts).where(eq(custodyAccounts.userId, userId)))[0];

  /**
   * Reserves the next address index, and funds the address with gas in the same SQL transaction: if the node
   * is down, the account is not recorded. A second request for the same user waits on the unique user id and
   * then finds the first one's account.
   */
  async function openAccount(userId: string): Promise<CustodyAccountRow> {
    // An address index and its gas are never spent on a user id nobody has.
    await options.checkUser(userId);
    return db.transaction(async (tx) => {
      const [next] = await tx.execute<{ index: string }>(sql`select nextval(pg_get_serial_sequence('custody_accounts', 'address_index')) as index`);
      const addressIndex = Number(next?.index);
      const address = getAddress(chain.accountAt(addressIndex).address);
      const [created] = await tx.insert(custodyAccounts).values({ userId, addressIndex, address }).onConflictDoNothing({ target: custodyAccounts.userId }).returning();
      if (!created) return (await tx.select().from(custodyAccounts).where(eq(custodyAccounts.userId, userId)))[0] as CustodyAccountRow;
      if (gasFundingWei > 0n) await fundGas(userId, address);
      return created;
    });
  }

  async function fundGas(userId: string, address: Address): Promise<void> {
    const funding = await sender.send({ signer: chain.operator, kind: 'GAS_FUNDING', userId, to: address, value: gasFundingWei });
    if (funding.status === 'FAILED' || !funding.hash) throw new AppError('UPSTREAM_UNAVAILABLE', `Could not fund the new account with gas: ${funding.revertReason ?? 'not sent'}`);
    const hash = funding.hash as `0x${string}`;
    await chain.call('wait for gas funding', () => chain.publicClient.waitForTransactionReceipt({ hash, timeout: GAS_FUNDING_WAIT_MS }));
  }

  return {
    findAccount,
    async accountOf(userId) {
      return (await findAccount(userId)) ?? openAccount(userId);
    },
    signerOf: (account) => chain.accountAt(account.addressIndex),
    async usersOf(addresses) {
      if (addresses.length === 0) return new Map();
      const rows = await db
        .select({ address: custodyAccounts.address, userId: custodyAccounts.userId })
        .from(custodyAccounts)
        .where(inArray(custodyAccounts.address, addresses.map((address) => getAddress(address))));
      return new Map(rows.map((row) => [row.address as Address, row.userId]));
    },
  };
}
