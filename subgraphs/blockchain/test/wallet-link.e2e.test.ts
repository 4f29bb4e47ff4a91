import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { carbonAccountAbi } from '../../../contracts/artifacts/index.js';
import { waitFor } from '../../../test/support/wait.js';
import { accountIdOf } from '../src/chain/wallet-link.js';
import { type BlockchainService, type DeployedChain, newUserId, startBlockchainService, startDeployedChain } from './harness.js';

let chain: DeployedChain;
let service: BlockchainService;

const CHALLENGE = /* GraphQL */ `mutation ($address: String!) { walletLinkChallenge(address: $address) { message expiresAt } }`;
const LINK = /* GraphQL */ `mutation ($message: String!, $signature: String!) { linkWallet(message: $message, signature: $signature) { address chainTransaction { id status } } }`;

beforeAll(async () => {
  chain = await startDeployedChain();
  service = await startBlockchainService({ rpcUrl: chain.anvil.rpcUrl, contracts: chain.contracts, env: { INDEXER_ENABLED: 'false', SIWE_CHALLENGE_TTL_SECONDS: '60' } });
});
afterAll(async () => {
  await service?.stop();
  await chain?.anvil.stop();
});

describe('linking a wallet with Sign-In with Ethereum', () => {
  it('links the wallet that signed the challenge on chain, and refuses the same signed message again', async () => {
    const userId = newUserId();
    const wallet = privateKeyToAccount(generatePrivateKey());
    const me = service.as(userId);
    const challenge = await me(CHALLENGE, { address: wallet.address });
    expect(challenge.errors).toBeUndefined();
    const message: string = challenge.data!.walletLinkChallenge.message;
    expect(message).toContain(wallet.address);
    const signature = await wallet.signMessage({ message });

    const linked = await me(LINK, { message, signature });
    expect(linked.errors).toBeUndefined();
    expect(linked.data!.linkWallet.address).toBe(wallet.address);
    await waitFor(
      async () => (await chain.client.readContract({ address: chain.contracts.account, abi: carbonAccountAbi, functionName: 'accountOf', args: [wallet.address] })) === accountIdOf(userId),
      { timeoutMs: 10_000, message: 'the link on chain' },
    );
    const replay = await me(LINK, { message, signature });
    expect(replay.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' }, message: expect.stringMatching(/used already/) });
  });

  it('refuses a signature by another key, a challenge issued to someone else, and an expired challenge', async () => {
    const [ada, ben] = [newUserId(), newUserId()];
    const wallet = privateKeyToAccount(generatePrivateKey());
    const message: string = (await service.as(ada)(CHALLENGE, { address: wallet.address })).data!.walletLinkChallenge.message;
    const forged = await privateKeyToAccount(generatePrivateKey()).signMessage({ message });
    expect((await service.as(ada)(LINK, { message, signature: forged })).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const signature = await wallet.signMessage({ message });
    expect((await service.as(ben)(LINK, { message, signature })).errors?.[0]?.message).toMatch(/not issued to you/);

    await service.sql`update wallet_link_challenges set expires_at = now() - interval '1 second' where user_id = ${ada}`;
    expect((await service.as(ada)(LINK, { message, signature })).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(await service.sql`select * from linked_wallets where user_id in (${ada}, ${ben})`).toHaveLength(0);
  });

  it('refuses an address that is not one, or whose checksum is wrong', async () => {
    const me = service.as(newUserId());
    const wallet = privateKeyToAccount(generatePrivateKey());
    const wrongCase = wallet.address.replace(/[a-f]/, (letter) => letter.toUpperCase());
    for (const address of ['0x1234', 'not an address', wrongCase]) {
      const result = await me(CHALLENGE, { address });
      expect(result.errors?.[0]?.extensions?.code, address).toBe('BAD_USER_INPUT');
    }
    // All lower case carries no checksum and is accepted.
    expect((await me(CHALLENGE, { address: wallet.address.toLowerCase() })).errors).toBeUndefined();
    const garbled = await me(LINK, { message: 'hello', signature: '0x1234' });
    expect(garbled.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});
