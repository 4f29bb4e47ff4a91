import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../../../lib/config.js';
import { connectDatabase, DEFAULT_DATABASE_LIMITS, runMigrations } from '../../../lib/db.js';
import { silentLogger } from '../../../lib/log.js';
import { createChain } from '../src/chain/clients.js';
import { createCustody } from '../src/chain/custody.js';
import { Sender } from '../src/chain/sender.js';
import * as schema from '../src/db/schema.js';
import postgres from 'postgres';
import { type Address, createPublicClient, createWalletClient, type Hash, http, parseUnits } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import { carbonStakingAbi, carbonTokenAbi } from '../../../contracts/artifacts/index.js';
import { INTERNAL_CREDENTIAL_HEADER, InternalCredential } from '../../../lib/auth/internal-credential.js';
import type { Role } from '../../../lib/auth/identity.js';
import { createMemoryTransport } from '../../../lib/events/memory-transport.js';
import type { RunningServer } from '../../../lib/server/subgraph-server.js';
import { type AnvilNode, startAnvil } from '../../../scripts/infra/anvil.js';
import { type ContractAddresses, DEV_MNEMONIC, deployContracts } from '../../../scripts/infra/deploy-contracts.js';
import { createTestDatabase } from '../../../test/support/database.js';
import { register } from '../../../test/support/people.js';
import { postGraphQL, TEST_SECRETS } from '../../../test/support/stack.js';
import { startFromEnv as startUserService } from '../../user/src/server.js';
import { configSchema, startFromEnv } from '../src/server.js';

export const TONNE = parseUnits('1', 18);

/** One anvil with the four contracts deployed by the operator (index 0 of anvil's mnemonic). */
export async function startDeployedChain() {
  const anvil: AnvilNode = await startAnvil();
  const contracts = await deployContracts({ rpcUrl: anvil.rpcUrl });
  const client = createPublicClient({ chain: foundry, transport: http(anvil.rpcUrl), pollingInterval: 50 });
  const operator = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: 0 });
  const wallet = createWalletClient({ account: operator, chain: foundry, transport: http(anvil.rpcUrl) });
  const mined = async (hash: Promise<Hash>) => client.waitForTransactionReceipt({ hash: await hash, timeout: 10_000 });
  /** The operator funds the reward pool and sets a rate, so staked tokens earn. */
  async function fundRewards(amount: bigint, ratePerTokenPerSecond: bigint) {
    await mined(wallet.writeContract({ address: contracts.token, abi: carbonTokenAbi, functionName: 'mint', args: [operator.address, amount] }));
    await mined(wallet.writeContract({ address: contracts.token, abi: carbonTokenAbi, functionName: 'approve', args: [contracts.staking, amount] }));
    await mined(wallet.writeContract({ address: contracts.staking, abi: carbonStakingAbi, functionName: 'fundRewards', args: [amount] }));
    await mined(wallet.writeContract({ address: contracts.staking, abi: carbonStakingAbi, functionName: 'setRewardRate', args: [ratePerTokenPerSecond] }));
  }
  const carbonBalance = (address: Address) => client.readContract({ address: contracts.token, abi: carbonTokenAbi, functionName: 'balanceOf', args: [address] });
  return { anvil, contracts, client, wallet, operator, mined, fundRewards, carbonBalance };
}

export type DeployedChain = Awaited<ReturnType<typeof startDeployedChain>>;

export interface BlockchainService {
  server: RunningServer;
  users: UserDirectory;
  /** A user the user subgraph knows. */
  newUser(): Promise<string>;
  databaseUrl: string;
  sql: postgres.Sql;
  as(userId: string, role?: Role): <Data = Record<string, any>>(query: string, variables?: Record<string, unknown>) => ReturnType<typeof postGraphQL<Data>>;
  stop(): Promise<void>;
}

/** The real user subgraph, which the blockchain subgraph asks whether a user exists; `register()` makes one. */
export interface UserDirectory {
  url: string;
  register(): Promise<string>;
  stop(): Promise<void>;
}

export async function startUserDirectory(): Promise<UserDirectory> {
  const database = await createTestDatabase('blockchain_users');
  const server = await startUserService({ ...TEST_SECRETS, NODE_ENV: 'test', LOG_LEVEL: 'silent', PORT: '0', DATABASE_URL: database.url }, { transport: createMemoryTransport() });
  const credential = new InternalCredential(TEST_SECRETS.GATEWAY_SECRET);
  return {
    url: new URL(server.url).origin,
    async register() {
      // Straight to the subgraph, as the gateway would send it: with the gateway's credential.
      const asGateway: typeof fetch = async (input, init) =>
        fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), [INTERNAL_CREDENTIAL_HEADER]: await credential.mint({ kind: 'gateway', identity: null }) } });
      return (await register(server.url, 'Holder', { fetch: asGateway })).id;
    },
    async stop() {
      await server.stop();
      await database.drop();
    },
  };
}

/**
 * The real service on a free port, its own database, talking to `rpcUrl`, and asking `users` (a user subgraph of
 * its own unless given) whether a user exists.
 */
export async function startBlockchainService(options: { rpcUrl: string; contracts: ContractAddresses; env?: Record<string, string>; users?: UserDirectory }): Promise<BlockchainService> {
  const users = options.users ?? (await startUserDirectory());
  const database = await createTestDatabase('blockchain');
  const server = await startFromEnv(
    {
      ...TEST_SECRETS,
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      PORT: '0',
      DATABASE_URL: database.url,
      ETH_RPC_URL: options.rpcUrl,
      CONTRACT_ADDRESSES: JSON.stringify(options.contracts),
      USER_SERVICE_URL: users.url,
      TRACKER_POLL_INTERVAL_MS: '50',
      INDEXER_POLL_INTERVAL_MS: '100',
      RPC_TIMEOUT_MS: '2000',
      ...options.env,
    },
    { transport: createMemoryTransport() },
  );
  const sql = postgres(database.url, { max: 2, onnotice: () => {} });
  const credential = new InternalCredential(TEST_SECRETS.GATEWAY_SECRET);
  return {
    server,
    users,
    newUser: () => users.register(),
    databaseUrl: database.url,
    sql,
    as(userId, role = 'BUYER') {
      return async (query, variables = {}) => {
        const token = await credential.mint({ kind: 'gateway', identity: { userId, role } });
        return postGraphQL(server.url, query, variables, { [INTERNAL_CREDENTIAL_HEADER]: token });
      };
    },
    async stop() {
      await server.stop();
      await sql.end();
      await database.drop();
      if (!options.users) await users.stop();
    },
  };
}

export const newUserId = () => randomUUID();

export const CHAIN_ACCOUNT = /* GraphQL */ `query ($id: ID!) {
  _entities(representations: [{ __typename: "User", id: $id }]) { ... on User { chainAccount { address carbonBalance ethBalance stake { staked rewards } } } } }`;

/** The service's parts without its HTTP server, on a database of their own: for the sender, tracker and indexer tests. */
export async function startParts(options: { rpcUrl: string; contracts: ContractAddresses; env?: Record<string, string> }) {
  const database = await createTestDatabase('blockchain_parts');
  await runMigrations(database.url, fileURLToPath(new URL('../src/db/migrations', import.meta.url)));
  const connection = connectDatabase(database.url, schema, DEFAULT_DATABASE_LIMITS);
  const config = parseConfig(configSchema, { CONTRACT_ADDRESSES: JSON.stringify(options.contracts), ETH_RPC_URL: options.rpcUrl, NODE_ENV: 'test', ...options.env });
  const chain = createChain(config, silentLogger);
  const sender = new Sender(chain, connection.sql);
  // The parts alone, without the user subgraph: every user id counts as known (the service tests check the lookup).
  const custody = createCustody({ chain, db: connection.db, sender, gasFundingEth: config.CUSTODY_GAS_FUNDING_ETH, checkUser: async () => {} });
  return {
    config,
    chain,
    db: connection.db,
    sql: connection.sql,
    sender,
    custody,
    async close() {
      await connection.close();
      await database.drop();
    },
  };
}
