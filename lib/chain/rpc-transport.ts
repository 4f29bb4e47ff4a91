import { type Transport, custom, http, toHex } from 'viem';

/**
 * Added to each gas estimate: an estimate is exact only for the state it was made against, and a staking call's
 * cost moves with the block timestamp and with the caller's earlier calls (a first stake writes fewer slots from
 * zero than a later one, about 105k against 159k gas). 20% was seen to fall short under load; the limit is only
 * a ceiling, the sender pays for gas used.
 */
export const GAS_ESTIMATE_HEADROOM_PERCENT = 60n;
/** One retry for a dropped connection; a node that stays down is UPSTREAM_UNAVAILABLE, not a long hang. */
const RPC_RETRY_COUNT = 1;

export const withGasHeadroom = (estimate: bigint): bigint => (estimate * (100n + GAS_ESTIMATE_HEADROOM_PERCENT)) / 100n;

/**
 * JSON-RPC over HTTP for every part that talks to a node (the blockchain subgraph, the deploy script, the contract
 * tests), with a time-out on every call, and without eth_fillTransaction: viem prefers it, and it
 * estimates gas inside the node, without our headroom.
 */
export function rpcTransport(rpcUrl: string, timeoutMs: number): Transport {
  const provider = http(rpcUrl, { timeout: timeoutMs, retryCount: RPC_RETRY_COUNT })({});
  return custom(
    {
      async request({ method, params }: { method: string; params?: unknown }) {
        const result: unknown = await provider.request({ method, params });
        if (method !== 'eth_estimateGas' || typeof result !== 'string') return result;
        return toHex(withGasHeadroom(BigInt(result)));
      },
    },
    { methods: { exclude: ['eth_fillTransaction'] }, retryCount: 0 },
  );
}
