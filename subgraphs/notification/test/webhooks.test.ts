import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../scripts/infra/ports.js';
import { waitFor } from '../../../test/support/wait.js';
import { WEBHOOKS_PER_USER_MAX } from '../src/webhooks/registry.js';
import { NotificationStack, type Person } from './notification-stack.js';

const ATTEMPTS_MAX = 3;
const RETRY_DELAY_BASE_MS = 100;
const TIMEOUT_MS = 500;
const DELIVERY_WAIT_MS = 20_000;
const harness = new NotificationStack('webhooks');

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

/** A webhook receiver of the test's own on loopback, answering every POST with `status`, or never (null). */
async function receiver(status: number | null): Promise<{ url: string; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
      if (status !== null) response.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/hooks/ecocoin`, received, server };
}

const servers: Server[] = [];

beforeAll(async () => {
  await harness.start({
    notificationEnv: {
      WEBHOOK_ATTEMPTS_MAX: String(ATTEMPTS_MAX),
      WEBHOOK_RETRY_DELAY_BASE_MS: String(RETRY_DELAY_BASE_MS),
      WEBHOOK_RETRY_DELAY_MAX_MS: '1000',
      WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS),
      WEBHOOK_POLL_INTERVAL_MS: '50',
    },
  });
}, 90_000);

afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  await harness.stop();
});

const REGISTER = /* GraphQL */ `mutation ($url: String!) { registerWebhook(url: $url) { id url secret createdAt } }`;
const DELIVERIES = /* GraphQL */ `query ($id: ID!) {
  webhookDeliveries(webhookId: $id, first: 10) {
    id status nextAttemptAt notification { id title }
    attempts { number attemptedAt statusCode error durationMs }
  }
}`;

interface Delivery {
  id: string;
  status: string;
  nextAttemptAt: string | null;
  notification: { id: string; title: string } | null;
  attempts: { number: number; attemptedAt: string; statusCode: number | null; error: string | null; durationMs: number }[];
}

async function register(who: Person, url: string): Promise<{ id: string; secret: string }> {
  const result = await harness.graphql(REGISTER, { url }, who.token);
  if (!result.data?.registerWebhook) throw new Error(JSON.stringify(result.errors));
  return result.data.registerWebhook;
}

const deliveriesOf = async (who: Person, webhookId: string): Promise<Delivery[]> => (await harness.graphql(DELIVERIES, { id: webhookId }, who.token)).data?.webhookDeliveries;

describe('webhooks', () => {
  it('deliver each notification as a POST signed with the secret shown once', async () => {
    const hook = await receiver(204);
    servers.push(hook.server);
    const ana = await harness.person('Ana');
    const { id, secret } = await register(ana, hook.url);
    expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect((await harness.graphql(`{ webhooks { id url } }`, {}, ana.token)).data?.webhooks).toEqual([{ id, url: hook.url }]);
    expect((await harness.graphql(`{ webhooks { secret } }`, {}, ana.token)).errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');

    await harness.deposit(ana, '5.00');
    const [request] = await waitFor(() => hook.received.length > 0 && hook.received, { timeoutMs: DELIVERY_WAIT_MS, message: 'the webhook POST' });
    const timestamp = String(request!.headers['x-ecocoin-timestamp']);
    const expected = `sha256=${createHmac('sha256', secret).update(`${timestamp}.${request!.body}`).digest('hex')}`;
    const signature = String(request!.headers['x-ecocoin-signature']);
    expect(signature.length).toBe(expected.length);
    expect(timingSafeEqual(Buffer.from(signature), Buffer.from(expected))).toBe(true);
    expect(Math.abs(Number(timestamp) - Date.now() / 1000)).toBeLessThan(300);
    expect(request!.headers['content-type']).toBe('application/json');
    const body = JSON.parse(request!.body);
    expect(body).toMatchObject({ type: 'notification.created', deliveryId: request!.headers['x-ecocoin-delivery'], notification: { userId: ana.id, kind: 'FUNDS_RECEIVED', title: '5.00 USD deposited' } });

    const [delivery] = await waitFor(async () => {
      const deliveries = await deliveriesOf(ana, id);
      return deliveries[0]?.status === 'DELIVERED' && deliveries;
    }, { timeoutMs: DELIVERY_WAIT_MS, message: 'the delivery to be recorded' });
    expect(delivery).toMatchObject({ id: body.deliveryId, nextAttemptAt: null, notification: { id: body.notification.id, title: '5.00 USD deposited' } });
    expect(delivery!.attempts).toEqual([expect.objectContaining({ number: 1, statusCode: 204, error: null })]);
  });

  it('retry a failing receiver with growing delays, then give up, recording every attempt', async () => {
    const failing = await receiver(500);
    servers.push(failing.server);
    const ben = await harness.person('Ben');
    const answers500 = await register(ben, failing.url);
    // Nothing listens here: every attempt fails without an answer.
    const refuses = await register(ben, `http://127.0.0.1:${await freePort()}/hook`);
    const silent = await receiver(null);
    servers.push(silent.server);
    const timesOut = await register(ben, silent.url);
    await harness.deposit(ben, '1.00');

    for (const webhook of [answers500, refuses, timesOut]) {
      const [delivery] = await waitFor(async () => {
        const deliveries = await deliveriesOf(ben, webhook.id);
        return deliveries[0]?.status === 'FAILED' && deliveries;
      }, { timeoutMs: DELIVERY_WAIT_MS, message: 'the delivery to be given up' });
      expect(delivery!.nextAttemptAt).toBeNull();
      expect(delivery!.attempts.map((attempt) => attempt.number)).toEqual([1, 2, 3]);
      const times = delivery!.attempts.map((attempt) => Date.parse(attempt.attemptedAt));
      // The base delay, then twice it: exponential back-off between attempts.
      expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(RETRY_DELAY_BASE_MS);
      expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(2 * RETRY_DELAY_BASE_MS);
      const outcomes = delivery!.attempts.map((attempt) => [attempt.statusCode, attempt.error?.replace(/127\.0\.0\.1:\d+/, 'receiver')]);
      const expected = { [answers500.id]: [500, undefined], [refuses.id]: [null, 'connect ECONNREFUSED receiver'], [timesOut.id]: [null, `no answer within ${TIMEOUT_MS} ms`] }[webhook.id];
      expect(outcomes).toEqual(Array.from({ length: ATTEMPTS_MAX }, () => expected));
    }
    expect(failing.received).toHaveLength(ATTEMPTS_MAX);
    expect(silent.received).toHaveLength(ATTEMPTS_MAX);
  });

  it('show and delete nothing of another user’s', async () => {
    const hook = await receiver(204);
    servers.push(hook.server);
    const [cy, dee] = [await harness.person('Cy'), await harness.person('Dee')];
    const { id } = await register(cy, hook.url);
    expect((await harness.graphql(DELIVERIES, { id }, dee.token)).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect((await harness.graphql(`{ webhooks { id } }`, {}, dee.token)).data?.webhooks).toEqual([]);
    const DELETE = /* GraphQL */ `mutation ($id: ID!) { deleteWebhook(id: $id) }`;
    expect((await harness.graphql(DELETE, { id }, dee.token)).data?.deleteWebhook).toBe(false);
    expect((await harness.graphql(DELETE, { id }, cy.token)).data?.deleteWebhook).toBe(true);
    expect((await harness.graphql(`{ webhooks { id } }`, {}, cy.token)).data?.webhooks).toEqual([]);
  });

  it('refuse URLs that are not http(s), not URLs or too long', async () => {
    const eve = await harness.person('Eve');
    const refused = await Promise.all(
      ['not a url', 'ftp://example.com/hook', 'javascript:alert(1)', 'file:///etc/passwd', `https://example.com/${'a'.repeat(2048)}`].map((url) =>
        harness.graphql(REGISTER, { url }, eve.token),
      ),
    );
    expect(refused.map((result) => result.errors?.[0]?.extensions)).toEqual(Array.from({ length: 5 }, () => ({ code: 'BAD_USER_INPUT', field: 'url' })));
    expect((await harness.graphql(`{ webhooks { id } }`, {}, eve.token)).data?.webhooks).toEqual([]);
  });

  it(`hold at most ${WEBHOOKS_PER_USER_MAX} per user, even when asked for all at once`, async () => {
    const fay = await harness.person('Fay');
    const results = await Promise.all(Array.from({ length: WEBHOOKS_PER_USER_MAX + 2 }, (_, index) => harness.graphql(REGISTER, { url: `https://example.com/hook/${index}` }, fay.token)));
    expect(results.filter((result) => result.data?.registerWebhook).length).toBe(WEBHOOKS_PER_USER_MAX);
    expect(results.filter((result) => result.errors).map((result) => result.errors?.[0]?.extensions)).toEqual([
      { code: 'BAD_USER_INPUT', field: 'url' },
      { code: 'BAD_USER_INPUT', field: 'url' },
    ]);
  });
});
