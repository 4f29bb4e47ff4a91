import { randomBytes, randomUUID } from 'node:crypto';
import type { Role } from '../../lib/auth/identity.js';
import { expectData } from './graphql.js';

/** A registered user the benchmark moves money for: its id, and how each path signs in as it. */
export interface BenchUser {
  id: string;
  role: Role;
  /** A user token for the gateway's Authorization header. */
  token: string;
}

/** Enough that no wallet runs dry: 0.01 per transfer is ten million transfers out of each wallet. */
const FUNDS_PER_USER_USD = '100000.00';

const REGISTER = /* GraphQL */ `
  mutation Register($input: RegisterInput!) {
    register(input: $input) { token user { id role } }
  }
`;

const LOGIN = /* GraphQL */ `
  mutation Login($email: String!, $password: String!) {
    login(email: $email, password: $password) { token }
  }
`;

const DEPOSIT = /* GraphQL */ `
  mutation Deposit($input: DepositInput!, $key: String!) {
    deposit(input: $input, idempotencyKey: $key) { id status }
  }
`;

const LEDGER_TOTALS = /* GraphQL */ `
  query LedgerTotals {
    ledgerSnapshot(first: 1) { totals { currency total } }
  }
`;

/**
 * Registers `count` users through the gateway and has the administrator deposit USD to each, one at a time:
 * registration hashes a password (bcrypt, on the same thread as everything else), so more at once gains nothing.
 */
export async function createFundedUsers(gatewayUrl: string, admin: { email: string; password: string }, count: number): Promise<BenchUser[]> {
  const adminToken = await logIn(gatewayUrl, admin);
  const password = randomBytes(12).toString('hex');
  const users: BenchUser[] = [];
  for (let index = 0; index < count; index += 1) {
    const input = { email: `bench-user-${index}@ecocoin.local`, password, displayName: `Bench user ${index}`, role: 'BUYER' };
    const { register } = await expectData<{ register: { token: string; user: { id: string; role: Role } } }>(gatewayUrl, REGISTER, { input });
    const deposit = { userId: register.user.id, currency: 'USD', amount: FUNDS_PER_USER_USD };
    const { deposit: funded } = await expectData<{ deposit: { status: string } }>(gatewayUrl, DEPOSIT, { input: deposit, key: randomUUID() }, bearer(adminToken));
    if (funded.status !== 'COMPLETED') throw new Error(`deposit for user ${index} ended ${funded.status}`);
    users.push({ id: register.user.id, role: register.user.role, token: register.token });
  }
  return users;
}

/** The sum of every wallet per currency, read by the administrator: zero for each while the ledger is consistent. */
export async function ledgerTotals(gatewayUrl: string, admin: { email: string; password: string }): Promise<Record<string, string>> {
  const token = await logIn(gatewayUrl, admin);
  const { ledgerSnapshot } = await expectData<{ ledgerSnapshot: { totals: { currency: string; total: string }[] } }>(gatewayUrl, LEDGER_TOTALS, {}, bearer(token));
  return Object.fromEntries(ledgerSnapshot.totals.map((row) => [row.currency, row.total]));
}

async function logIn(gatewayUrl: string, account: { email: string; password: string }): Promise<string> {
  const { login } = await expectData<{ login: { token: string } }>(gatewayUrl, LOGIN, account);
  return login.token;
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
