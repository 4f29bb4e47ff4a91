/** Plan executions: one per event per group of identical subscribers (a gateway that executes per subscriber counts each). */
export const EXECUTIONS_METRIC = 'ecocoin_gateway_subscription_executions_total';
/** Messages written to client sockets. */
export const DELIVERIES_METRIC = 'ecocoin_gateway_subscription_deliveries_total';
/** Subscriptions open from the gateway to subgraphs. */
export const UPSTREAMS_METRIC = 'ecocoin_gateway_subscription_upstreams';
const SCRAPE_TIMEOUT_MS = 10_000;

/** The gateway's counters the benchmark reads; null where the gateway does not expose one. */
export type GatewayCounters = Record<typeof EXECUTIONS_METRIC | typeof DELIVERIES_METRIC | typeof UPSTREAMS_METRIC, number | null>;

export async function readGatewayCounters(metricsUrl: string): Promise<GatewayCounters> {
  const response = await fetch(metricsUrl, { signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS) });
  if (!response.ok) throw new Error(`the gateway's metrics endpoint answered ${response.status}`);
  const text = await response.text();
  return {
    [EXECUTIONS_METRIC]: metricValue(text, EXECUTIONS_METRIC),
    [DELIVERIES_METRIC]: metricValue(text, DELIVERIES_METRIC),
    [UPSTREAMS_METRIC]: metricValue(text, UPSTREAMS_METRIC),
  };
}

/** The sum of every sample of `name` (all its label sets) in Prometheus's text format; null when it has none. */
export function metricValue(exposition: string, name: string): number | null {
  let sum: number | null = null;
  for (const line of exposition.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    const value = Number(rest.slice(rest.lastIndexOf('}') + 1).trim().split(' ')[0]);
    if (Number.isFinite(value)) sum = (sum ?? 0) + value;
  }
  return sum;
}

/** `after − before` of one counter, null when either reading lacks it. */
export const counterDelta = (before: GatewayCounters, after: GatewayCounters, name: keyof GatewayCounters) => {
  const [start, end] = [before[name], after[name]];
  return start === null || end === null ? null : end - start;
};
