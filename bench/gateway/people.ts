import { randomBytes, randomUUID } from 'node:crypto';
import type { Role } from '../../lib/auth/identity.js';
import { bearer } from '../ledger/accounts.js';
import { expectData } from '../ledger/graphql.js';
import { HISTORY_ROWS } from './queries.js';

/** The user every query is asked as: its token for the gateways, its id and role for the direct path's credential. */
export interface BenchPerson {
  id: string;
  role: Role;
  token: string;
}

/** More than the history query's page, so every page is full of transfers between the two. */
const TRANSFERS = HISTORY_ROWS + 4;

const REGISTER = /* GraphQL */ `mutation Register($input: RegisterInput!) { register(input: $input) { token user { id role } } }`;
const LOGIN = /* GraphQL */ `mutation Login($email: String!, $password: String!) { login(email: $email, password: $password) { token } }`;
const DEPOSIT = /* GraphQL */ `mutation Deposit($input: DepositInput!, $key: String!) { deposit(input: $input, idempotencyKey: $key) { status } }`;
const TRANSFER = /* GraphQL */ `mutation Transfer($input: TransferInput!, $key: String!) { transfer(input: $input, idempotencyKey: $key) { status } }`;

/**
 * Two users through the gateway, each funded by the administrator, then TRANSFERS transfers between them in
 * both directions, each COMPLETED: the first user's history is then a full page of transfers with two parties.
 */
export async function createTwoPeople(gatewayUrl: string, admin: { email: string; password: string }): Promise<BenchPerson> {
  const password = randomBytes(12).toString('hex');
  const people: BenchPerson[] = [];
  for (const displayName of ['Bench Ada', 'Bench Grace']) {
    const input = { email: `${displayName.toLowerCase().replace(' ', '-')}-${randomUUID().slice(0, 8)}@example.com`, password, displayName, role: 'BUYER' };
    const { register } = await expectData<{ register: { token: string; user: { id: string; role: Role } } }>(gatewayUrl, REGISTER, { input });
    people.push({ id: register.user.id, role: register.user.role, token: register.token });
  }
  const [ada, grace] = people as [BenchPerson, BenchPerson];
  const { login } = await expectData<{ login: { token: string } }>(gatewayUrl, LOGIN, admin);
  for (const person of [ada, grace]) {
    const { deposit } = await expectData<{ deposit: { status: string } }>(gatewayUrl, DEPOSIT, { input: { userId: person.id, currency: 'USD', amount: '1000.00' }, key: randomUUID() }, bearer(login.token));
    if (deposit.status !== 'COMPLETED') throw new Error(`the setup deposit ended ${deposit.status}`);
  }
  for (let index = 0; index < TRANSFERS; index += 1) {
    const [from, to] = index % 2 === 0 ? [ada, grace] : [grace, ada];
    const input = { to: to.id, currency: 'USD', amount: '1.00', memo: `bench transfer ${index + 1}` };
    const { transfer } = await expectData<{ transfer: { status: string } }>(gatewayUrl, TRANSFER, { input, key: randomUUID() }, bearer(from.token));
    if (transfer.status !== 'COMPLETED') throw new Error(`setup transfer ${index + 1} ended ${transfer.status}`);
  }
  return ada;
}
