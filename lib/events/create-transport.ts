import type { Logger } from '../log.js';
import { createMemoryTransport } from './memory-transport.js';
import type { EventTransport } from './transport.js';

let sharedMemoryTransport: EventTransport | null = null;

/**
 * Kafka when brokers are configured; otherwise the in-process bus, shared by every service in this process
 * (that is how `npm start` runs all five in one process). kafkajs is loaded only when it is used.
 */
export async function createEventTransport(options: { brokers: string[] | undefined; clientId: string; topicPrefix: string; log: Logger }): Promise<EventTransport> {
  if (options.brokers) {
    const { createKafkaTransport } = await import('./kafka-transport.js');
    return createKafkaTransport({ brokers: options.brokers, clientId: options.clientId, topicPrefix: options.topicPrefix, log: options.log });
  }
  sharedMemoryTransport ??= createMemoryTransport();
  const shared = sharedMemoryTransport;
  // Each service closing "its" transport must not close the bus for the others.
  return { publish: (envelopes, metadata) => shared.publish(envelopes, metadata), subscribe: (subscribeOptions) => shared.subscribe(subscribeOptions), close: async () => {} };
}
