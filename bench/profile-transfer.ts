/**
 * `npx tsx bench/profile-transfer.ts`: a CPU profile of transfers through the gateway, the ledger benchmark's
 * gateway path with uniform wallets, taken over the measured window only (not the start-up, nor the users'
 * registration, whose bcrypt would drown the rest). Writes the .cpuprofile and prints its summary
 * (bench/profile-summary.ts). PROFILE_SECONDS (default 10), PROFILE_CLIENTS (default 16), PROFILE_OUT.
 * It also measures the platform's CPU with no transfers (pollers, relays, the chain indexer) first: on a busy
 * machine transfers are few, and that fixed cost divided by them would pass for a cost of each.
 */
import { writeFile, mkdtemp, rm, chmod } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { parseConfig, positiveInt } from '../lib/config.js';
import { createFundedUsers } from './ledger/accounts.js';
import { runClosedLoop } from './ledger/closed-loop.js';
import { startPlatform } from './ledger/platform.js';
import { gatewayPath, sendTransfer } from './ledger/transfer-paths.js';
import { pickPair } from './ledger/wallet-patterns.js';
import { summarizeProfile } from './profile-summary.js';

const settings = parseConfig(
  z.object({
    PROFILE_SECONDS: positiveInt(10),
    PROFILE_CLIENTS: positiveInt(16),
    PROFILE_USERS: positiveInt(16),
    PROFILE_OUT: z.string().default('transfer.cpuprofile'),
  }),
  process.env,
);

const IDLE_MEASURE_MS = 5_000;

const workDir = await mkdtemp(join(tmpdir(), 'ecocoin-profile-'));
// When we run as root, PostgreSQL runs as its own user and must be able to enter this folder.
await chmod(workDir, 0o755);
const platform = await startPlatform(join(workDir, 'postgres'));
try {
  const users = await createFundedUsers(platform.gatewayUrl, platform.admin, settings.PROFILE_USERS);
  const path = gatewayPath(platform.gatewayUrl);
  const idleCpuAtStart = process.cpuUsage();
  await new Promise((resolve) => setTimeout(resolve, IDLE_MEASURE_MS));
  const idleCpu = process.cpuUsage(idleCpuAtStart);
  const idleCpuPercent = ((idleCpu.user + idleCpu.system) / 1000 / IDLE_MEASURE_MS) * 100;
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  const load = runClosedLoop({
    clients: settings.PROFILE_CLIENTS,
    warmupMs: 2_000,
    measureMs: settings.PROFILE_SECONDS * 1000,
    successOutcome: 'COMPLETED',
    request: () => sendTransfer(path, ...pickPair('uniform', users)),
  });
  // The warm-up compiles the hot path; the profile covers the window that is measured.
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  await session.post('Profiler.start');
  const result = await load;
  const { profile } = await session.post('Profiler.stop');
  session.disconnect();
  await writeFile(settings.PROFILE_OUT, JSON.stringify(profile));
  const cpuMsPerTransfer = (result.processCpuPercent * 10) / result.perSecond;
  const cpuMsPerTransferAboveIdle = ((result.processCpuPercent - idleCpuPercent) * 10) / result.perSecond;
  process.stdout.write(
    `${result.perSecond.toFixed(1)} transfers/s, process CPU ${result.processCpuPercent.toFixed(0)} % (${idleCpuPercent.toFixed(1)} % with no transfers), ${cpuMsPerTransfer.toFixed(2)} ms CPU per transfer (${cpuMsPerTransferAboveIdle.toFixed(2)} ms above idle), JS thread busy ${(result.eventLoopUtilization * 100).toFixed(0)} %, failures ${JSON.stringify(result.failures)}\n`,
  );
  process.stdout.write(`${summarizeProfile(profile, result.succeeded)}\nwritten: ${settings.PROFILE_OUT}\n`);
} finally {
  await platform.stop();
  await rm(workDir, { recursive: true, force: true });
}
