import type { SubgraphEndpoint } from './supergraph.js';

const HEALTH_TIMEOUT_MS = 2_000;

export interface ReadinessReport {
  ready: boolean;
  subgraphs: Record<string, 'ok' | 'unavailable'>;
}

/** Ready when every subgraph in the supergraph answers its `/health` within the time-out. */
export async function checkSubgraphs(subgraphs: readonly SubgraphEndpoint[]): Promise<ReadinessReport> {
  const results = await Promise.all(
    subgraphs.map(async ({ name, url }) => {
      try {
        const response = await fetch(new URL('/health', url), { signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS) });
        await response.body?.cancel();
        return [name, response.ok ? 'ok' : 'unavailable'] as const;
      } catch {
        return [name, 'unavailable'] as const;
      }
    }),
  );
  return { ready: results.every(([, status]) => status === 'ok'), subgraphs: Object.fromEntries(results) };
}
