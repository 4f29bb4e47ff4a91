/**
 * `npm run seed`: demo buyers, sellers and their money on a running platform (`npm start`), through the gateway's
 * GraphQL API. Safe to run again: the second run signs in instead of registering and changes nothing.
 */
import { Presets, SingleBar } from 'cli-progress';
import { z } from 'zod';
import { exitOnConfigError, parseConfig } from '../lib/config.js';
import { SeedError, seedPlatform, seedStepCount } from './seed/seed-platform.js';

const seedConfigSchema = z.object({
  GATEWAY_URL: z.url({ protocol: /^https?$/, message: 'must be an http(s):// URL' }).default('http://127.0.0.1:4000/graphql'),
  /** The administrator `npm start` creates; in another deployment, the one its ADMIN_EMAIL names. */
  ADMIN_EMAIL: z.email({ message: 'must be an email address' }).default('admin@ecocoin.local'),
  ADMIN_PASSWORD: z.string().min(1).default('ecocoin-admin'),
  SEED_PASSWORD: z.string().min(10, 'must be at least 10 characters').default('ecocoin-seed-password'),
});

async function main() {
  const config = parseConfig(seedConfigSchema, process.env);
  const options = {
    gatewayUrl: config.GATEWAY_URL,
    admin: { email: config.ADMIN_EMAIL, password: config.ADMIN_PASSWORD },
    password: config.SEED_PASSWORD,
  };
  const bar = new SingleBar({ format: 'seeding {bar} {value}/{total} {step}', hideCursor: true, clearOnComplete: false }, Presets.shades_classic);
  bar.start(seedStepCount(options), 0, { step: '' });
  let report: Awaited<ReturnType<typeof seedPlatform>>;
  try {
    let done = -1;
    report = await seedPlatform({ ...options, onStep: (step) => bar.update((done += 1), { step }) });
    bar.update(report.steps.length, { step: 'done' });
  } finally {
    bar.stop();
  }

  const created = report.steps.filter((step) => step.outcome === 'created').map((step) => step.name);
  const lines = [
    '',
    created.length === 0 ? `Nothing to do: all ${report.steps.length} steps were done by an earlier run.` : `Created: ${created.join(', ')}.`,
    `MCO2 price history: ${report.priceHistoryDays} daily candles over the last week.`,
    `Accounts (password ${config.SEED_PASSWORD === 'ecocoin-seed-password' ? '"ecocoin-seed-password"' : 'from SEED_PASSWORD'}):`,
    ...report.people.map(
      (person) =>
        `  ${person.email.padEnd(40)} ${person.role.padEnd(6)} ${Object.entries(person.balances)
          .map(([currency, balance]) => `${balance} ${currency}`)
          .join(', ')}`,
    ),
    '',
  ];
  process.stdout.write(lines.join('\n'));
}

main().catch((error: unknown) => {
  if (error instanceof SeedError) {
    process.stderr.write(`\nseed failed: ${error.message}\n`);
    process.exit(1);
  }
  exitOnConfigError(error);
});
