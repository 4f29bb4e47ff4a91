import { expect } from 'vitest';
import { EcoCoinError } from '../../sdk/index.js';

/** The SDK error a call rejected with, or a failed expectation if it did not reject. */
export async function rejection(call: Promise<unknown>): Promise<EcoCoinError> {
  const error = await call.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(EcoCoinError);
  return error as EcoCoinError;
}
