import { z } from 'zod';
import { internalCall } from '../internal-contract.js';

/**
 * Addresses below this are refused as a withdrawal's destination: the zero address, Ethereum's precompiles
 * (0x01–0x11 today, P256VERIFY at 0x100) and the rest of the low range that chains keep for their own
 * precompiles and system contracts. Nobody holds a key for any of them (finding one is a 2^144 search), so MCO2
 * minted there is lost for good. Refusing the whole range 0x0–0xffff, not today's list, stays right when a fork
 * adds precompiles; no real wallet lives there.
 */
export const RESERVED_ADDRESS_LIMIT = 0x1_0000n;

/** True for an address in the reserved low range (the input is a 0x address already checked for shape). */
export function isReservedAddress(address: string): boolean {
  return BigInt(address) < RESERVED_ADDRESS_LIMIT;
}

export const RESERVED_ADDRESS_MESSAGE = 'toAddress is the zero address or a precompile (0x0 to 0xffff), where the MCO2 would be lost';

/**
 * `POST /internal/withdrawals/address-check` on the blockchain subgraph, which alone knows the platform's contract
 * addresses (CONTRACT_ADDRESSES): the transaction subgraph asks before it debits anything. It answers the address
 * checksummed, or refuses it with BAD_USER_INPUT.
 */
export const WITHDRAWAL_ADDRESS_CHECK_PATH = '/internal/withdrawals/address-check';
export const withdrawalAddressCheckCall = internalCall(
  WITHDRAWAL_ADDRESS_CHECK_PATH,
  z.strictObject({ toAddress: z.string().max(100) }),
  z.strictObject({ toAddress: z.string().regex(/^0x[0-9a-fA-F]{40}$/) }),
);
