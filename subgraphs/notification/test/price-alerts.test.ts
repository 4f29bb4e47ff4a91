import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnvelope } from '../../../lib/events/contracts/index.js';
import { waitFor } from '../../../test/support/wait.js';
import { PRICE_ALERTS_PER_USER_MAX } from '../src/alerts/price-alerts.js';
import { NotificationStack, notificationsOf } from './notification-stack.js';

const EVENT_WAIT_MS = 15_000;
const harness = new NotificationStack('price-alerts');

beforeAll(async () => {
  await harness.start();
}, 90_000);

afterAll(async () => {
  await harness.stop();
});

const CREATE = /* GraphQL */ `mutation ($input: CreatePriceAlertInput!) { createPriceAlert(input: $input) { id symbol direction threshold triggerCount lastTriggeredAt } }`;
const ALERTS = /* GraphQL */ `{ priceAlerts { id direction threshold triggerCount } }`;

/**
 * A price change as the price subgraph publishes it. The thresholds here are far from the simulated prices
 * (MCO2 near 0.85 USD), so the price subgraph's own ticks on these topics never cross them.
 */
const priceChange = (previousValue: string, value: string) =>
  createEnvelope('price.updated', 'MCO2', { symbol: 'MCO2', vs: 'USD', value, previousValue, source: 'simulated', observedAt: new Date().toISOString() });

describe('price alerts', () => {
  it('fire once per crossing, not while the price stays across, and again after it crossed back', async () => {
    const [ada, bo] = [await harness.person('Ada'), await harness.person('Bo')];
    const above = await harness.graphql(CREATE, { input: { symbol: 'MCO2', direction: 'ABOVE', threshold: '100.50' } }, ada.token);
    expect(above.data?.createPriceAlert).toMatchObject({ symbol: 'MCO2', direction: 'ABOVE', threshold: '100.5', triggerCount: 0, lastTriggeredAt: null });
    await harness.graphql(CREATE, { input: { symbol: 'MCO2', direction: 'BELOW', threshold: '100.50' } }, ada.token);
    await harness.graphql(CREATE, { input: { symbol: 'ETH', direction: 'ABOVE', threshold: '100.50' } }, bo.token);

    // Same key, same partition: applied in this order.
    await harness.publish([priceChange('90', '110'), priceChange('110', '120'), priceChange('120', '95'), priceChange('95', '130')]);
    const fired = await waitFor(
      async () => {
        const { nodes } = await notificationsOf(harness, ada);
        return nodes.length >= 3 && nodes;
      },
      { timeoutMs: EVENT_WAIT_MS, message: 'three alerts to fire' },
    );
    expect(fired.map((node) => node.title)).toEqual(['MCO2 rose above 100.5 USD', 'MCO2 fell below 100.5 USD', 'MCO2 rose above 100.5 USD']);
    expect(fired[2]).toMatchObject({
      kind: 'PRICE_ALERT',
      body: 'MCO2 is at 110 USD (it was 90 USD). This alert fires again after the price falls back below 100.5 USD.',
      data: { alertId: above.data?.createPriceAlert.id, direction: 'ABOVE', value: '110', previousValue: '90' },
    });
    const alerts = (await harness.graphql(ALERTS, {}, ada.token)).data?.priceAlerts;
    expect(alerts.map((alert: { direction: string; triggerCount: number }) => [alert.direction, alert.triggerCount]).sort()).toEqual([
      ['ABOVE', 2],
      ['BELOW', 1],
    ]);
    // An ETH alert does not hear about MCO2.
    expect((await notificationsOf(harness, bo)).nodes).toEqual([]);
  });

  it('refuse a threshold that is not above zero, with the field named', async () => {
    const cleo = await harness.person('Cleo');
    for (const threshold of ['0', '-1', '0.000']) {
      const result = await harness.graphql(CREATE, { input: { symbol: 'ETH', direction: 'BELOW', threshold } }, cleo.token);
      expect(result.errors?.[0]?.extensions, threshold).toMatchObject({ code: 'BAD_USER_INPUT', field: 'threshold' });
    }
    const notDecimal = await harness.graphql(CREATE, { input: { symbol: 'ETH', direction: 'BELOW', threshold: '1e3' } }, cleo.token);
    expect(notDecimal.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect((await harness.graphql(ALERTS, {}, cleo.token)).data?.priceAlerts).toEqual([]);
  });

  it(`hold at most ${PRICE_ALERTS_PER_USER_MAX} per user, even when asked for all at once`, async () => {
    const dov = await harness.person('Dov');
    const results = await Promise.all(
      Array.from({ length: PRICE_ALERTS_PER_USER_MAX + 5 }, (_, index) => harness.graphql(CREATE, { input: { symbol: 'ETH', direction: 'ABOVE', threshold: String(1000 + index) } }, dov.token)),
    );
    expect(results.filter((result) => result.data?.createPriceAlert).length).toBe(PRICE_ALERTS_PER_USER_MAX);
    const refusals = results.filter((result) => result.errors).map((result) => result.errors?.[0]?.extensions);
    expect(refusals).toEqual(Array.from({ length: 5 }, () => ({ code: 'BAD_USER_INPUT', field: 'input' })));
    expect((await harness.graphql(ALERTS, {}, dov.token)).data?.priceAlerts).toHaveLength(PRICE_ALERTS_PER_USER_MAX);
  });

  it('are deleted by their owner only', async () => {
    const [eli, fin] = [await harness.person('Eli'), await harness.person('Fin')];
    const { id } = (await harness.graphql(CREATE, { input: { symbol: 'MCO2', direction: 'ABOVE', threshold: '2' } }, eli.token)).data!.createPriceAlert;
    const DELETE = /* GraphQL */ `mutation ($id: ID!) { deletePriceAlert(id: $id) }`;
    expect((await harness.graphql(DELETE, { id }, fin.token)).data?.deletePriceAlert).toBe(false);
    expect((await harness.graphql(ALERTS, {}, fin.token)).data?.priceAlerts).toEqual([]);
    expect((await harness.graphql(DELETE, { id }, eli.token)).data?.deletePriceAlert).toBe(true);
    expect((await harness.graphql(ALERTS, {}, eli.token)).data?.priceAlerts).toEqual([]);
  });
});
