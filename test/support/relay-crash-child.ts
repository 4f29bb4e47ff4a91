/**
 * A relay process for the outbox crash test: it runs the real relay against the real Kafka broker, but its
 * transport stops dead at one point of a publish, and tells the parent, which then SIGKILLs it.
 *   RELAY_CRASH_POINT=before  stops after the rows were read, before anything reached Kafka;
 *   RELAY_CRASH_POINT=after   stops after Kafka acknowledged the batch, before the rows were marked sent.
 */
import { connectDatabase } from '../../lib/db.js';
import { createKafkaTransport } from '../../lib/events/kafka-transport.js';
import { startOutboxRelay } from '../../lib/events/outbox.js';
import type { EventTransport } from '../../lib/events/transport.js';
import { silentLogger } from '../../lib/log.js';

const { DATABASE_URL, KAFKA_BROKERS, KAFKA_TOPIC_PREFIX, RELAY_CRASH_POINT } = process.env;
if (!DATABASE_URL || !KAFKA_BROKERS || KAFKA_TOPIC_PREFIX === undefined || !RELAY_CRASH_POINT) throw new Error('relay-crash-child: missing environment');

const kafka = createKafkaTransport({ brokers: KAFKA_BROKERS.split(','), clientId: 'relay-crash-child', topicPrefix: KAFKA_TOPIC_PREFIX, log: silentLogger });
const hang = () => new Promise<never>(() => {});
const stoppingTransport: EventTransport = {
  async publish(envelopes, metadata) {
    if (RELAY_CRASH_POINT === 'before') {
      process.stdout.write(`stopped-before-publish ${envelopes.length}\n`);
      return hang();
    }
    await kafka.publish(envelopes, metadata);
    process.stdout.write(`stopped-after-publish ${envelopes.length}\n`);
    return hang();
  },
  subscribe: (options) => kafka.subscribe(options),
  close: () => kafka.close(),
};
const database = connectDatabase(DATABASE_URL, {});
await startOutboxRelay({ sql: database.sql, transport: stoppingTransport, log: silentLogger });
