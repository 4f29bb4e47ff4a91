import { randomUUID } from 'node:crypto';
import { createEcoCoinClient, RegisterDocument, type RegistrationRole } from '../../sdk/index.js';

/** The password every test account is registered with unless a test sets its own. */
export const TEST_PASSWORD = 'long enough password';

export interface Person {
  id: string;
  token: string;
  email: string;
}

export interface RegisterOptions {
  role?: RegistrationRole;
  password?: string;
  /** A unique address made from the name when not given. */
  email?: string;
  /** Sends the request (e.g. with headers of a test's own); the global fetch when not given. */
  fetch?: typeof fetch;
}

/**
 * A new account, signed in, registered through the typed SDK at `url` (the gateway's /graphql): the one way
 * tests make people. A refusal rejects with the SDK's EcoCoinError.
 */
export async function register(url: string, name: string, options: RegisterOptions = {}): Promise<Person> {
  const email = options.email ?? `${name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-${randomUUID().slice(0, 8)}@example.com`;
  const client = createEcoCoinClient({ url, fetch: options.fetch });
  const { register: registered } = await client.request(RegisterDocument, {
    input: { email, password: options.password ?? TEST_PASSWORD, displayName: name, role: options.role ?? 'BUYER' },
  });
  return { id: registered.user.id, token: registered.token, email };
}
