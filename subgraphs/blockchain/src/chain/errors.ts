import { type Abi, BaseError, ContractFunctionRevertedError, decodeErrorResult, type Hex } from 'viem';
import { carbonAccountAbi, carbonPaymentAbi, carbonStakingAbi, carbonTokenAbi } from '../../../../contracts/artifacts/index.js';
import { AppError } from '../../../../lib/errors.js';

/** Errors of every contract together, so a token error bubbling up through staking still decodes. */
const ALL_ERRORS_ABI = [...carbonTokenAbi, ...carbonAccountAbi, ...carbonPaymentAbi, ...carbonStakingAbi].filter((item) => item.type === 'error') satisfies Abi;

export const chainUnavailable = () =>
  new AppError('UPSTREAM_UNAVAILABLE', 'The Ethereum node is unavailable or answered something that is not valid JSON-RPC; try again shortly');

/** The readable revert reason in a viem error (custom error with its arguments, or a require message), if it is one. */
export function revertReasonOf(error: unknown): string | undefined {
  if (!(error instanceof BaseError)) return undefined;
  const reverted = error.walk((cause) => cause instanceof ContractFunctionRevertedError);
  if (reverted instanceof ContractFunctionRevertedError) {
    if (reverted.data) return formatDecoded(reverted.data.errorName, reverted.data.args);
    if (reverted.raw) return decodeRaw(reverted.raw);
    if (reverted.reason) return reverted.reason;
    return 'reverted without a reason';
  }
  const withData = error.walk((cause) => typeof (cause as { data?: unknown }).data === 'string' && String((cause as { data: string }).data).startsWith('0x'));
  const data = (withData as { data?: Hex } | null)?.data;
  if (data && data.length >= 10) return decodeRaw(data);
  if (/execution reverted/i.test(error.message)) return 'reverted without a reason';
  return undefined;
}

export function decodeRaw(data: Hex): string {
  try {
    const decoded = decodeErrorResult({ abi: ALL_ERRORS_ABI, data });
    return formatDecoded(decoded.errorName, decoded.args);
  } catch {
    return `reverted with unknown error data ${data.slice(0, 10)}`;
  }
}

function formatDecoded(name: string, args: readonly unknown[] | undefined): string {
  return `${name}(${(args ?? []).map((arg) => String(arg)).join(', ')})`;
}

/**
 * Runs a call to the node; anything but a revert (refused connection, time-out, invalid JSON, a result that
 * does not decode) becomes UPSTREAM_UNAVAILABLE, with the detail logged, not shown.
 */
export async function fromChain<T>(call: () => Promise<T>, onFailure: (error: unknown) => void): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof AppError) throw error;
    onFailure(error);
    throw chainUnavailable();
  }
}
