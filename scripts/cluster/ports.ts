import { defaultPortOf, SUBGRAPH_NAMES, type SubgraphName } from '../../lib/subgraphs.js';
import { freePort } from '../infra/ports.js';

export type ClusterService = SubgraphName | 'gateway';

/** Every service of the cluster, the gateway last: the order in which they start. */
export const CLUSTER_SERVICES: readonly ClusterService[] = [...SUBGRAPH_NAMES, 'gateway'];

/**
 * The public gateway and each service's address are 100 above `npm start`'s (4100 for the gateway, 4101 for the
 * user subgraph, …), so both can run at once. Replicas behind HAProxy listen from 4200, ten ports per service.
 */
const GATEWAY_PORT = 4100;
const FIXED_OFFSET = 100;
const INSTANCE_PORT_BASE = 4200;
const INSTANCE_PORTS_PER_SERVICE = 10;
const HAPROXY_STATS_PORT = 4199;
const GATEWAY_METRICS_PORT_BASE = 9500;
const POSTGRES_PORT = 54330;
const KAFKA_PORT = 9192;
const KAFKA_CONTROLLER_PORT = 9193;
const ANVIL_PORT = 8645;

/** The most instances of one service the fixed port plan leaves room for. */
export const REPLICAS_MAX = 8;

export interface PortPlan {
  /** Where each service is reached: HAProxy's frontend with replicas, else its one instance. */
  service: Record<ClusterService, number>;
  /** Each instance's own port. */
  instances: Record<ClusterService, number[]>;
  gatewayMetrics: number[];
  haproxyStats: number;
  postgres: number;
  kafka: number;
  kafkaController: number;
  anvil: number;
}

const byService = <T>(value: (service: ClusterService, slot: number) => T) =>
  Object.fromEntries(CLUSTER_SERVICES.map((service, slot) => [service, value(service, slot)])) as Record<ClusterService, T>;

/** Well-known ports, for `npm run start:cluster`. */
export function fixedPorts(replicas: number): PortPlan {
  if (replicas > REPLICAS_MAX) throw new Error(`the fixed port plan has room for ${REPLICAS_MAX} replicas, not ${replicas}`);
  const service = byService((name) => (name === 'gateway' ? GATEWAY_PORT : defaultPortOf(name) + FIXED_OFFSET));
  const instances = byService((name, slot) =>
    replicas === 1 ? [service[name]] : Array.from({ length: replicas }, (_, index) => INSTANCE_PORT_BASE + slot * INSTANCE_PORTS_PER_SERVICE + index),
  );
  return {
    service,
    instances,
    gatewayMetrics: Array.from({ length: replicas }, (_, index) => GATEWAY_METRICS_PORT_BASE + index),
    haproxyStats: HAPROXY_STATS_PORT,
    postgres: POSTGRES_PORT,
    kafka: KAFKA_PORT,
    kafkaController: KAFKA_CONTROLLER_PORT,
    anvil: ANVIL_PORT,
  };
}

/** Ports that were free a moment ago, for tests: all distinct, though each was free on its own. */
export async function freePorts(replicas: number): Promise<PortPlan> {
  const perService = replicas === 1 ? 1 : replicas + 1;
  const ports = new Set<number>();
  const needed = CLUSTER_SERVICES.length * perService + replicas + 5;
  while (ports.size < needed) ports.add(await freePort());
  const take = (count: number) => {
    const taken = [...ports].slice(0, count);
    for (const port of taken) ports.delete(port);
    return taken;
  };
  const instances = byService(() => take(replicas));
  const service = byService((name) => (replicas === 1 ? instances[name][0]! : take(1)[0]!));
  const [haproxyStats, postgres, kafka, kafkaController, anvil] = take(5) as [number, number, number, number, number];
  return { service, instances, gatewayMetrics: take(replicas), haproxyStats, postgres, kafka, kafkaController, anvil };
}
