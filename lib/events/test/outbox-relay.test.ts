import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ensureTopics } from '../../../scripts/infra/kafka-broker.js';
import { createTestDatabase } from '../../../test/support/database.js';
import { waitFor } from '../../../test/support/wait.js';
import { connectDatabase, type Database, runMigrations } from '../../db.js';
import { silentLogger } from '../../log.js';
import { startDurableConsumer } from '../consumer.js';
import { walletEvent } from '../../../test/support/events.js';
import { type Envelope, TOPICS } from '../envelope.js';
import { createKafkaTransport } from '../kafka-transport.js';
import { enqueueEvents, pruneProcessedEvents, startOutboxRelay } from '../outbox.js';
import type { EventTransport, Subscription } from '../transport.js';

// The outbox and processed_events tables come with every service's migrations; the user service's will do.
const migrationsFolder = fileURLToPath(new URL('../../../subgraphs/user/src/db/migrations', import.meta.url));
const childScript = fileURLToPath(new URL('../../../test/support/relay-crash-child.ts', import.meta.url));
const brokers = inject('kafkaBrokers').split(',');
const topicPrefix = `outbox-${randomUUID().slice(0, 8)}.`;

let database: Database<Record<string, never>>;
let databaseUrl: string;
let dropDatabase: () => Promise<void>;
let transport: EventTransport;
const subscriptions: Subscription[] = [];
/** Every delivery Kafka made to a plain subscriber, duplicates included. */
const deliveries: Envelope[] = [];

beforeAll(async () => {
  const created = await createTestDatabase('outbox');
  databaseUrl = created.url;
  dropDatabase = created.drop;
  await runMigrations(created.url, migrationsFolder);
  database = connectDatabase(created.url, {});
  await database.sql`create table effects (event_id uuid not null, applied_at timestamptz not null default now())`;
  await ensureTopics(brokers, TOPICS.map((topic) => `${topicPrefix}${topic}`), 3);
  transport = createKafkaTransport({ brokers, clientId: 'outbox-test', topicPrefix, log: silentLogger });
  subscriptions.push(
    await transport.subscribe({ topics: ['wallet.updated'], groupId: `${topicPrefix}raw`, fromBeginning: true, handle: async (envelope) => void deliveries.push(envelope) }),
    await startDurableConsumer({
      transport,
      db: database.db,
      name: `${topicPrefix}effects`,
      topics: ['wallet.updated'],
      log: silentLogger,
      metrics: { eventSkipped: () => {} },
      apply: async (envelope, tx) => void (await tx.execute(sql`insert into effects (event_id) values (${envelope.id})`)),
    }),
  );
}, 90_000);

afterAll(async () => {
  for (const subscription of subscriptions) await subscription.close();
  await transport?.close();
  await database?.close();
  await dropDatabase?.();
});

async function commitEvents(count: number): Promise<Envelope[]> {
  const envelopes = Array.from({ length: count }, (_, index) => walletEvent(`user-${index % 3}`));
  await database.db.transaction((tx) => enqueueEvents(tx, envelopes));
  return envelopes;
}

/** Runs the relay in a child process and SIGKILLs it at the crash point; resolves once it is dead. */
async function crashRelayAt(point: 'before' | 'after'): Promise<void> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', childScript], {
    env: { ...process.env, DATABASE_URL: databaseUrl, KAFKA_BROKERS: brokers.join(','), KAFKA_TOPIC_PREFIX: topicPrefix, RELAY_CRASH_POINT: point },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => void (output += chunk.toString()));
  try {
    await waitFor(() => output.includes(`stopped-${point}-publish`), { timeoutMs: 30_000, message: `the relay child to reach "${point} publish"` });
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
}

async function unsentIds(): Promise<string[]> {
  const rows = await database.sql<{ id: string }[]>`select id from outbox where sent_at is null order by seq`;
  return rows.map((row) => row.id);
}

async function effectCounts(ids: readonly string[]): Promise<number[]> {
  const rows = await database.sql<{ event_id: string; count: number }[]>`
    select event_id, count(*)::int as count from effects where event_id in ${database.sql(ids)} group by event_id`;
  const counts = new Map(rows.map((row) => [row.event_id, row.count]));
  return ids.map((id) => counts.get(id) ?? 0);
}

describe('applied event ids', () => {
  it('are forgotten after the retention, and only then', async () => {
    const [old, recent] = [randomUUID(), randomUUID()];
    await database.sql`insert into processed_events (consumer, event_id, processed_at) values
      ('retention-test', ${old}, now() - interval '31 days'), ('retention-test', ${recent}, now() - interval '29 days')`;
    expect(await pruneProcessedEvents(database.sql)).toBeGreaterThanOrEqual(1);
    const left = await database.sql<{ event_id: string }[]>`select event_id from processed_events where consumer = 'retention-test'`;
    expect(left.map((row) => row.event_id)).toEqual([recent]);
  });
});

describe('outbox relay crashes', () => {
  it('delivers events committed before the relay died, before it published, exactly once', async () => {
    const envelopes = await commitEvents(6);
    const ids = envelopes.map((envelope) => envelope.id);
    await crashRelayAt('before');
    expect(await unsentIds()).toEqual(ids);
    expect(deliveries.filter((delivery) => ids.includes(delivery.id))).toEqual([]);

    const relay = await startOutboxRelay({ sql: database.sql, transport, log: silentLogger });
    try {
      await relay.drain();
      expect(await unsentIds()).toEqual([]);
      await waitFor(async () => (await effectCounts(ids)).every((count) => count === 1), { timeoutMs: 20_000, message: 'one effect per event' });
      await waitFor(() => deliveries.filter((delivery) => ids.includes(delivery.id)).length === ids.length, { timeoutMs: 20_000, message: 'each event on Kafka once' });
    } finally {
      await relay.stop();
    }
  }, 60_000);

  it('republishes events the dead relay had published but not marked, and the consumer applies each once', async () => {
    const envelopes = await commitEvents(6);
    const ids = envelopes.map((envelope) => envelope.id);
    await crashRelayAt('after');
    expect(await unsentIds()).toEqual(ids);

    const relay = await startOutboxRelay({ sql: database.sql, transport, log: silentLogger });
    try {
      await relay.drain();
      expect(await unsentIds()).toEqual([]);
      // Kafka carried every event twice (once per relay); the consumer's effect happened once per id.
      await waitFor(() => deliveries.filter((delivery) => ids.includes(delivery.id)).length === 2 * ids.length, { timeoutMs: 20_000, message: 'each event on Kafka twice' });
      await waitFor(async () => (await effectCounts(ids)).every((count) => count === 1), { timeoutMs: 20_000, message: 'one effect per event' });
      expect(await effectCounts(ids)).toEqual(ids.map(() => 1));
      const received = deliveries.filter((delivery) => delivery.id === ids[0]);
      expect(received[0]).toEqual(envelopes[0]);
    } finally {
      await relay.stop();
    }
  }, 60_000);

  it('keeps the order of events with the same key', async () => {
    const envelopes = await commitEvents(30);
    const relay = await startOutboxRelay({ sql: database.sql, transport, log: silentLogger });
    try {
      await relay.drain();
      const ids = new Set(envelopes.map((envelope) => envelope.id));
      await waitFor(() => deliveries.filter((delivery) => ids.has(delivery.id)).length === 30, { timeoutMs: 20_000, message: '30 deliveries' });
      for (const key of ['user-0', 'user-1', 'user-2']) {
        const sent = envelopes.filter((envelope) => envelope.key === key).map((envelope) => envelope.id);
        const received = deliveries.filter((delivery) => delivery.key === key && ids.has(delivery.id)).map((delivery) => delivery.id);
        expect(received).toEqual(sent);
      }
    } finally {
      await relay.stop();
    }
  }, 60_000);
});
