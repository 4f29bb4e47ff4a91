import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../lib/config.js';
import { configSchema } from '../src/server.js';

const ADDRESSES = {
  token: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
  account: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512',
  payment: '0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0',
  staking: '0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9',
};
const parse = (env: Record<string, string>) => parseConfig(configSchema, { CONTRACT_ADDRESSES: JSON.stringify(ADDRESSES), ...env });

describe('blockchain configuration', () => {
  it('defaults to a local node, one confirmation and the anvil mnemonic outside production', () => {
    const config = parse({});
    expect(config.ETH_RPC_URL).toBe('http://127.0.0.1:8545');
    expect(config.CONFIRMATIONS).toBe(1);
    expect(config.CONTRACT_ADDRESSES).toEqual(ADDRESSES);
    expect(config.CUSTODY_GAS_FUNDING_ETH).toBe('1');
    expect(config.CUSTODY_MNEMONIC.reveal()).toContain('junk');
  });

  it('names a bad user service URL or work interval', () => {
    expect(() => parse({ USER_SERVICE_URL: 'user:4001' })).toThrow(/USER_SERVICE_URL: must be an http\(s\):\/\/ URL/);
    expect(() => parse({ CHAIN_WORK_INTERVAL_MS: '0' })).toThrow(/CHAIN_WORK_INTERVAL_MS/);
    expect(parse({ USER_SERVICE_URL: 'http://user:4001', CHAIN_WORK_INTERVAL_MS: '250' })).toMatchObject({ USER_SERVICE_URL: 'http://user:4001', CHAIN_WORK_INTERVAL_MS: 250 });
  });

  it('never prints the mnemonic when the config is logged or serialised', () => {
    const config = parse({ CUSTODY_MNEMONIC: 'legal winner thank year wave sausage worth useful legal winner thank yellow' });
    expect(JSON.stringify(config)).not.toContain('sausage');
    expect(inspect(config, { depth: 5 })).not.toContain('sausage');
  });

  it('requires a mnemonic of its own in production, and refuses the public one', () => {
    const secrets = { JWT_SECRET: 'Caa++U4qXnoX8Io8Y4lXAPeZLi5h4n0hzMQvlKuQ6qI=', GATEWAY_SECRET: 'ewF1pwQn37or0ogHKYQ0WHpM3EqMTMUeSxGd0rNvpdg=', NODE_ENV: 'production' };
    expect(() => parse(secrets)).toThrow(/CUSTODY_MNEMONIC: is required when NODE_ENV=production/);
    expect(() => parse({ ...secrets, CUSTODY_MNEMONIC: 'test test test test test test test test test test test junk' })).toThrow(/CUSTODY_MNEMONIC: must not be the public/);
    expect(parse({ ...secrets, CUSTODY_MNEMONIC: 'legal winner thank year wave sausage worth useful legal winner thank yellow' }).CUSTODY_GAS_FUNDING_ETH).toBe('0');
  });

  it('takes the addresses as separate variables too, and names the one with a bad checksum', () => {
    const separate = { TOKEN_ADDRESS: ADDRESSES.token, ACCOUNT_ADDRESS: ADDRESSES.account, PAYMENT_ADDRESS: ADDRESSES.payment, STAKING_ADDRESS: ADDRESSES.staking };
    expect(parseConfig(configSchema, separate).CONTRACT_ADDRESSES).toEqual(ADDRESSES);
    const badChecksum = ADDRESSES.token.replace('aFe', 'afE').replace('5Fb', '5fB');
    expect(() => parseConfig(configSchema, { ...separate, TOKEN_ADDRESS: badChecksum })).toThrow(/TOKEN_ADDRESS: must be a 0x address with a valid EIP-55 checksum/);
    expect(() => parseConfig(configSchema, { ...separate, STAKING_ADDRESS: undefined as unknown as string })).toThrow(/STAKING_ADDRESS/);
  });

  it('names CONTRACT_ADDRESSES when its JSON is broken or an address in it is wrong', () => {
    expect(() => parseConfig(configSchema, { CONTRACT_ADDRESSES: '{not json' })).toThrow(/CONTRACT_ADDRESSES: must be JSON/);
    expect(() => parseConfig(configSchema, { CONTRACT_ADDRESSES: JSON.stringify({ ...ADDRESSES, payment: '0x1234' }) })).toThrow(/CONTRACT_ADDRESSES: payment must be a 0x address/);
  });

  it('bounds the confirmations and the indexer block range', () => {
    expect(() => parse({ CONFIRMATIONS: '0' })).toThrow(/CONFIRMATIONS/);
    expect(() => parse({ INDEXER_BLOCK_RANGE: '501' })).toThrow(/INDEXER_BLOCK_RANGE: must be at most 500/);
    expect(() => parse({ ETH_RPC_URL: 'ftp://node' })).toThrow(/ETH_RPC_URL/);
  });
});
