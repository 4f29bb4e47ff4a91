import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../../lib/config.js';
import { gatewayConfigSchema } from '../../../gateway/src/config.js';
import { BENCH_GATEWAY_LIMITS } from '../gateway-limits.js';
import { metricValue } from '../gateway-metrics.js';
import { debuggerUrlIn } from '../inspector-heap.js';
import { selectionOf, SELECTIONS, subscriptionDocument } from '../selections.js';
import { subscriptionSettingsSchema } from '../settings.js';

const refusal = (env: Record<string, string>) => {
  try {
    parseConfig(subscriptionSettingsSchema, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error(`accepted ${JSON.stringify(env)}`);
};

describe('subscriptions benchmark settings', () => {
  it('defaults to crowds of 1,000, 5,000 and 10,000, both shapes and both crowd kinds, anonymous subscribers, four client processes', () => {
    const settings = parseConfig(subscriptionSettingsSchema, {});
    expect(settings).toMatchObject({
      subscriberCounts: [1000, 5000, 10000],
      shapes: ['production', 'one-process'],
      crowds: ['uniform', 'mixed'],
      subscriberAuth: 'anonymous',
      clientProcesses: 4,
      smoke: false,
    });
  });

  it('reads a smoke run with one shape, signed-in subscribers and two client processes', () => {
    const settings = parseConfig(subscriptionSettingsSchema, { BENCH_SUBSCRIBERS: '200', BENCH_TICKS: '3', BENCH_SHAPES: 'one-process', BENCH_SUBSCRIBER_AUTH: 'user', BENCH_CLIENT_PROCESSES: '2', BENCH_CROWDS: 'mixed' });
    expect(settings).toMatchObject({ subscriberCounts: [200], ticks: 3, shapes: ['one-process'], subscriberAuth: 'user', clientProcesses: 2, crowds: ['mixed'], smoke: true });
  });

  it('refuses unknown and repeated shapes', () => {
    expect(refusal({ BENCH_SHAPES: 'production,cloud' })).toMatch(/BENCH_SHAPES: must be one of production, one-process/);
    expect(refusal({ BENCH_SHAPES: 'production,production' })).toMatch(/BENCH_SHAPES: must name each of the shapes once/);
    expect(refusal({ BENCH_SHAPES: 'production;one-process' })).toMatch(/BENCH_SHAPES: must be shapes separated by commas/);
  });

  it('refuses crowds above 10,000, an unknown identity, and client processes out of range', () => {
    expect(refusal({ BENCH_SUBSCRIBERS: '1000,20000' })).toMatch(/BENCH_SUBSCRIBERS: must be at most 10000/);
    expect(refusal({ BENCH_SUBSCRIBERS: '1000,,5000' })).toMatch(/BENCH_SUBSCRIBERS: must be subscriber counts separated by commas/);
    expect(refusal({ BENCH_SUBSCRIBER_AUTH: 'admin' })).toMatch(/BENCH_SUBSCRIBER_AUTH: must be one of anonymous, user/);
    expect(refusal({ BENCH_CLIENT_PROCESSES: '0' })).toMatch(/BENCH_CLIENT_PROCESSES: must be greater than zero/);
    expect(refusal({ BENCH_CLIENT_PROCESSES: '64' })).toMatch(/BENCH_CLIENT_PROCESSES: must be at most 16/);
    expect(refusal({ BENCH_CROWDS: 'uniform,uniform' })).toMatch(/BENCH_CROWDS: must name each of the crowds once/);
  });
});

describe("the gateway's settings for the run", () => {
  it('are accepted by the gateway, which raises its connection limits to them and ignores the names it does not know yet', () => {
    const config = parseConfig(gatewayConfigSchema, { ...BENCH_GATEWAY_LIMITS });
    expect(config.WEBSOCKET_OPEN_CONNECTIONS_PER_USER_MAX).toBe(20_000);
    expect(config.WEBSOCKET_CONNECTIONS_PER_ADDRESS_PER_MINUTE).toBe(1_000_000);
    const known = Object.keys(config);
    for (const name of Object.keys(BENCH_GATEWAY_LIMITS).filter((name) => known.includes(name))) expect(String(config[name as keyof typeof config])).toBe(BENCH_GATEWAY_LIMITS[name]);
  });
});

describe('the mixed crowd', () => {
  it('spreads subscribers evenly over ten distinct selections, each naming where the value arrives', () => {
    const documents = new Set(SELECTIONS.map(subscriptionDocument));
    expect(documents.size).toBe(10);
    const perSelection = new Map<string, number>();
    for (let index = 0; index < 1000; index += 1) {
      const selection = selectionOf(SELECTIONS.length, index);
      perSelection.set(selection.fields, (perSelection.get(selection.fields) ?? 0) + 1);
      expect(selection.fields).toContain(selection.valueKey === 'value' ? 'value' : `${selection.valueKey}: value`);
    }
    expect([...perSelection.values()]).toEqual(Array(10).fill(100));
  });
});

describe("reading the gateway's counters", () => {
  it('sums every label set of a metric, and says null for one the gateway does not expose', () => {
    const exposition = [
      '# HELP ecocoin_gateway_subscription_executions_total Plan executions',
      '# TYPE ecocoin_gateway_subscription_executions_total counter',
      'ecocoin_gateway_subscription_executions_total{field="priceUpdated"} 40',
      'ecocoin_gateway_subscription_executions_total{field="other"} 2',
      'ecocoin_gateway_subscription_executions_total_created 1700000000',
      'ecocoin_gateway_subscription_upstreams 1',
    ].join('\n');
    expect(metricValue(exposition, 'ecocoin_gateway_subscription_executions_total')).toBe(42);
    expect(metricValue(exposition, 'ecocoin_gateway_subscription_upstreams')).toBe(1);
    expect(metricValue(exposition, 'ecocoin_gateway_subscription_deliveries_total')).toBeNull();
  });
});

describe("finding the production gateway's inspector", () => {
  it('takes the last address Node printed, so a restarted gateway is found where it listens now', () => {
    const log = [
      '--- 2026-12-02T17:46:01.919Z starting gateway#0',
      'Debugger listening on ws://127.0.0.1:40377/76b3f23a-94c1-4b5f-ae1d-b11f39b56b3e',
      'For help, see: https://nodejs.org/en/docs/inspector',
      '--- 2026-12-02T17:50:00.000Z starting gateway#0',
      'Debugger listening on ws://127.0.0.1:41000/0f1e2d3c-94c1-4b5f-ae1d-b11f39b56b3e',
    ].join('\n');
    expect(debuggerUrlIn(log)).toBe('ws://127.0.0.1:41000/0f1e2d3c-94c1-4b5f-ae1d-b11f39b56b3e');
    expect(debuggerUrlIn('--- starting gateway#0\n')).toBeUndefined();
  });
});
