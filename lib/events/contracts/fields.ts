import { z } from 'zod';
import { CURRENCIES } from '../../money.js';

/** Field shapes the event contracts share: what travels on the wire, as strings where JSON numbers would lose digits. */

/** A positive whole number of minor units, as a string. */
export const minorUnits = z.string().regex(/^[1-9]\d{0,77}$/, 'must be a positive whole number of minor units');
/** A signed whole number of minor units (a balance may be zero; a change is never zero), as a string. */
export const signedMinorUnits = z.string().regex(/^(0|-?[1-9]\d{0,77})$/, 'must be a whole number of minor units');
/** A non-negative decimal, e.g. "12.50" or "2.500000000000000000". */
export const decimalText = z.string().regex(/^(0|[1-9]\d{0,59})(\.\d{1,18})?$/, 'must be a decimal like "12.50"');
export const currency = z.enum(CURRENCIES);
export const timestamp = z.iso.datetime({ offset: true });
/** A 0x address of 40 hex digits (EIP-55 checksummed where it came from viem). */
export const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x address');
/** A 0x transaction or block hash. */
export const hash = z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'must be a 0x hash of 64 hex digits');
/** A block number, as a string. */
export const blockNumber = z.string().regex(/^\d{1,20}$/, 'must be a block number');
/** An error code from lib/errors.ts, or a chain's (CHAIN_TRANSACTION_FAILED). */
export const errorCode = z.string().regex(/^[A-Z][A-Z_]{0,99}$/, 'must be an error code');
