import { randomUUID } from 'node:crypto';
import { INTERNAL_CREDENTIAL_HEADER, InternalCredential } from '../../lib/auth/internal-credential.js';
import { type BenchUser, bearer } from './accounts.js';
import { errorCodeOf, postGraphQL } from './graphql.js';

export type PathName = 'gateway' | 'direct';

/** Where a transfer is sent and how the sender is named there. */
export interface TransferPath {
  name: PathName;
  url: string;
  headersFor(sender: BenchUser): Promise<Record<string, string>>;
}

/**
 * Credentials live 60 s (lib/auth/internal-credential.ts); minting again after 50 s leaves a request in flight
 * 10 s before its credential expires.
 */
const CREDENTIAL_REUSE_MS = 50_000;

const TRANSFER = /* GraphQL */ `
  mutation Transfer($input: TransferInput!, $key: String!) {
    transfer(input: $input, idempotencyKey: $key) { id status }
  }
`;

const TRANSFER_AMOUNT_USD = '0.01';

/** What a client sends: the public API, signed in with the sender's user token. */
export function gatewayPath(gatewayUrl: string): TransferPath {
  return { name: 'gateway', url: gatewayUrl, headersFor: async (sender) => bearer(sender.token) };
}

/**
 * What the gateway itself sends the transaction subgraph: the same document with an internal credential
 * naming the sender. Credentials are minted per sender and reused for CREDENTIAL_REUSE_MS, where the gateway
 * mints one per request, so this path leaves out the gateway's whole cost and not a signature more.
 */
export function directPath(transactionUrl: string, gatewaySecret: string): TransferPath {
  const credential = new InternalCredential(gatewaySecret);
  const minted = new Map<string, { token: Promise<string>; mintedAtMs: number }>();
  return {
    name: 'direct',
    url: transactionUrl,
    async headersFor(sender) {
      let entry = minted.get(sender.id);
      if (!entry || performance.now() - entry.mintedAtMs > CREDENTIAL_REUSE_MS) {
        entry = { token: credential.mint({ kind: 'gateway', identity: { userId: sender.id, role: sender.role } }), mintedAtMs: performance.now() };
        minted.set(sender.id, entry);
      }
      return { [INTERNAL_CREDENTIAL_HEADER]: await entry.token };
    },
  };
}

/** Sends 0.01 USD and says how it went: `COMPLETED`, an error code, `STATUS_<status>`, `TIMEOUT` or `NO_ANSWER`. */
export async function sendTransfer(path: TransferPath, sender: BenchUser, recipient: BenchUser): Promise<string> {
  const variables = { input: { to: recipient.id, currency: 'USD', amount: TRANSFER_AMOUNT_USD }, key: randomUUID() };
  try {
    const answer = await postGraphQL<{ transfer: { id: string; status: string } }>(path.url, TRANSFER, variables, await path.headersFor(sender));
    const status = answer.data?.transfer.status;
    return errorCodeOf(answer) ?? (status === 'COMPLETED' ? status : `STATUS_${status ?? 'NONE'}`);
  } catch (error) {
    return (error as Error).name === 'TimeoutError' ? 'TIMEOUT' : 'NO_ANSWER';
  }
}
