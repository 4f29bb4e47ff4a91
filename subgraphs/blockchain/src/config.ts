import { type Address, getAddress, isAddress } from 'viem';
import { z } from 'zod';
import { parseConfig, positiveInt } from '../../../lib/config.js';
import { serviceUrl, subgraphConfigSchema } from '../../../lib/service-config.js';
import { defaultPortOf, type SubgraphName } from '../../../lib/subgraphs.js';

/** anvil's well-known test mnemonic; refused when NODE_ENV=production. */
export const DEV_CUSTODY_MNEMONIC = 'test test test test test test test test test test test junk';
const CONTRACT_NAMES = ['token', 'account', 'payment', 'staking'] as const;
export type ContractName = (typeof CONTRACT_NAMES)[number];
/** An eth_getLogs range most providers accept. */
const INDEXER_BLOCK_RANGE_MAX = 500;

/** A checksummed address: all lower- or upper-case is accepted (no checksum), mixed case must match EIP-55. */
export const addressSchema = z
  .string()
  .refine((value) => isAddress(value, { strict: true }), 'must be a 0x address with a valid EIP-55 checksum')
  .transform((value) => getAddress(value) as Address);

const contractAddressesSchema = z.object({ token: addressSchema, account: addressSchema, payment: addressSchema, staking: addressSchema });
export type ContractAddresses = z.infer<typeof contractAddressesSchema>;

const contractAddressesJson = z.string().transform((text, ctx) => {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be JSON like {"token":"0x…","account":"0x…","payment":"0x…","staking":"0x…"}' });
    return z.NEVER;
  }
});

const flag = z.enum(['true', 'false'], { message: 'must be true or false' }).transform((value) => value === 'true');

export const SERVICE = 'blockchain' satisfies SubgraphName;
export const DEFAULT_PORT = defaultPortOf(SERVICE);

export const blockchainConfigSchema = subgraphConfigSchema(SERVICE, DEFAULT_PORT, {
  /** The user subgraph: a custodial account is opened only for a user it knows. */
  USER_SERVICE_URL: serviceUrl('http://127.0.0.1:4001'),
  INTERNAL_TIMEOUT_MS: positiveInt(5_000),
  ETH_RPC_URL: z.url({ protocol: /^https?$/, message: 'must be an http(s):// URL' }).default('http://127.0.0.1:8545'),
  RPC_TIMEOUT_MS: positiveInt(10_000),
  /** The chain the node must serve, checked once it answers; any when unset. */
  CHAIN_ID: z.coerce.number({ message: 'must be a whole number' }).int().positive().optional(),
  CUSTODY_MNEMONIC: z.string().optional(),
  CONTRACT_ADDRESSES: contractAddressesJson.optional(),
  TOKEN_ADDRESS: z.string().optional(),
  ACCOUNT_ADDRESS: z.string().optional(),
  PAYMENT_ADDRESS: z.string().optional(),
  STAKING_ADDRESS: z.string().optional(),
  CONFIRMATIONS: positiveInt(1).pipe(z.number().max(100, 'must be at most 100')),
  TRACKER_POLL_INTERVAL_MS: positiveInt(1_000),
  INDEXER_POLL_INTERVAL_MS: positiveInt(2_000),
  INDEXER_BLOCK_RANGE: positiveInt(INDEXER_BLOCK_RANGE_MAX).pipe(z.number().max(INDEXER_BLOCK_RANGE_MAX, `must be at most ${INDEXER_BLOCK_RANGE_MAX}`)),
  INDEXER_START_BLOCK: z.coerce.number({ message: 'must be a whole number' }).int().min(0).default(0),
  /** ETH the operator sends a new custodial address for gas; development default 1, production 0. */
  CUSTODY_GAS_FUNDING_ETH: z.string().regex(/^\d+(\.\d{1,18})?$/, 'must be a decimal number of ETH').optional(),
  /** What SIWE messages name as the site asking for the signature (RFC 3986 authority and URI). */
  SIWE_DOMAIN: z.string().min(1).default('127.0.0.1:4000'),
  SIWE_URI: z.url({ message: 'must be a URL' }).default('http://127.0.0.1:4000'),
  SIWE_CHALLENGE_TTL_SECONDS: positiveInt(300).pipe(z.number().max(3600, 'must be at most 3600')),
  /** How often queued retirements are recorded on chain and deposits swept. */
  CHAIN_WORK_INTERVAL_MS: positiveInt(1_000),
  INDEXER_ENABLED: flag.default(true),
}).transform((settings, ctx) => {
  const production = settings.NODE_ENV === 'production';
  if (production && !settings.CUSTODY_MNEMONIC) ctx.addIssue({ code: 'custom', path: ['CUSTODY_MNEMONIC'], message: 'is required when NODE_ENV=production' });
  if (production && settings.CUSTODY_MNEMONIC === DEV_CUSTODY_MNEMONIC) {
    ctx.addIssue({ code: 'custom', path: ['CUSTODY_MNEMONIC'], message: 'must not be the public anvil test mnemonic in production' });
  }
  const mnemonic = settings.CUSTODY_MNEMONIC ?? DEV_CUSTODY_MNEMONIC;
  if (mnemonic.trim().split(/\s+/).length % 3 !== 0) ctx.addIssue({ code: 'custom', path: ['CUSTODY_MNEMONIC'], message: 'must be a BIP-39 mnemonic of 12 to 24 words' });
  const contracts = contractAddressesOf(settings, ctx);
  if (!contracts) return z.NEVER;
  return {
    ...settings,
    // Kept out of the settings object that might be logged; only the custody module reads it.
    CUSTODY_MNEMONIC: new CustodySecret(mnemonic),
    /** Resolved from CONTRACT_ADDRESSES or the four *_ADDRESS variables. */
    CONTRACT_ADDRESSES: contracts,
    CUSTODY_GAS_FUNDING_ETH: settings.CUSTODY_GAS_FUNDING_ETH ?? (production ? '0' : '1'),
  };
});

interface ContractAddressSettings {
  CONTRACT_ADDRESSES?: unknown;
  TOKEN_ADDRESS?: string | undefined;
  ACCOUNT_ADDRESS?: string | undefined;
  PAYMENT_ADDRESS?: string | undefined;
  STAKING_ADDRESS?: string | undefined;
}

/** The contracts' addresses from CONTRACT_ADDRESSES, or else the four *_ADDRESS variables; issues name the one that is wrong. */
function contractAddressesOf(settings: ContractAddressSettings, ctx: z.RefinementCtx): ContractAddresses | undefined {
  const raw = settings.CONTRACT_ADDRESSES ?? {
    token: settings.TOKEN_ADDRESS,
    account: settings.ACCOUNT_ADDRESS,
    payment: settings.PAYMENT_ADDRESS,
    staking: settings.STAKING_ADDRESS,
  };
  const parsed = contractAddressesSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) {
    const name = String(issue.path[0] ?? '');
    const variable = settings.CONTRACT_ADDRESSES ? 'CONTRACT_ADDRESSES' : `${name.toUpperCase()}_ADDRESS`;
    ctx.addIssue({ code: 'custom', path: [variable], message: settings.CONTRACT_ADDRESSES ? `${name} ${issue.message}` : issue.message });
  }
  return undefined;
}

/** The mnemonic, wrapped so that logging or serialising the config never prints it. */
export class CustodySecret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toJSON() {
    return '[redacted]';
  }
  toString() {
    return '[redacted]';
  }
  [Symbol.for('nodejs.util.inspect.custom')]() {
    return '[redacted]';
  }
}

export { CONTRACT_NAMES };
export type BlockchainConfig = z.infer<typeof blockchainConfigSchema>;

/** The blockchain subgraph's settings from `env`; ConfigError naming every wrong variable. */
export const loadBlockchainConfig = (env: Record<string, string | undefined>): BlockchainConfig => parseConfig(blockchainConfigSchema, env);
