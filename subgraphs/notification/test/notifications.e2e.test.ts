import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INTERNAL_CREDENTIAL_HEADER, InternalCredential } from '../../../lib/auth/internal-credential.js';
import { TEST_SECRETS } from '../../../test/support/stack.js';
import { waitFor } from '../../../test/support/wait.js';
import { NotificationStack, type NotificationNode, notificationsOf, type Person } from './notification-stack.js';

const EVENT_WAIT_MS = 15_000;
const harness = new NotificationStack('notifications');

beforeAll(async () => {
  await harness.start();
}, 90_000);

afterAll(async () => {
  await harness.stop();
});

const ADDED = /* GraphQL */ `subscription { notificationAdded { id kind title body data readAt transaction { id amount status } } }`;
type Added = { notificationAdded: NotificationNode & { transaction: { id: string; amount: string; status: string } | null } };

/** Waits until `who` has a notification matching `match`, and returns it. */
const notificationOf = (who: Person, match: (node: NotificationNode) => boolean) =>
  waitFor(async () => (await notificationsOf(harness, who)).nodes.find(match), { timeoutMs: EVENT_WAIT_MS, message: 'the notification' });

describe('notifications of a transfer', () => {
  it('reach the receiver through the gateway as notificationAdded, and nobody else', async () => {
    const [ana, ben, cy] = [await harness.person('Ana'), await harness.person('Ben'), await harness.person('Cy')];
    await harness.deposit(ana, '50.00');
    const bensFeed = await harness.subscribe<Added>(ben.token, ADDED);
    const cysFeed = await harness.subscribe<Added>(cy.token, ADDED);

    const transfer = await harness.transfer(ana, ben, '12.50');
    expect(transfer.data?.transfer.status).toBe('COMPLETED');
    const message = await waitFor(() => bensFeed.find((received) => received.data?.notificationAdded), { timeoutMs: EVENT_WAIT_MS, message: 'Ben’s notificationAdded' });
    const added = message.data!.notificationAdded;
    expect(added).toMatchObject({
      kind: 'FUNDS_RECEIVED',
      title: 'You received 12.50 USD',
      body: '12.50 USD arrived in your USD wallet from another user.',
      readAt: null,
      data: { transactionId: transfer.data?.transfer.id, currency: 'USD', amount: '12.50' },
      // Completed by the transaction subgraph, through the gateway's plan for the event.
      transaction: { id: transfer.data?.transfer.id, amount: '12.50', status: 'COMPLETED' },
    });

    const bens = await notificationsOf(harness, ben);
    expect(bens.nodes.map((node) => node.id)).toEqual([added.id]);
    expect(bens.unread).toBe(1);
    const cys = await notificationsOf(harness, cy);
    expect(cys).toMatchObject({ nodes: [], unread: 0 });
    expect(cysFeed).toEqual([]);
    // The sender did not ask to be told what they just did; their deposit is their only notification.
    expect((await notificationsOf(harness, ana)).nodes.map((node) => node.title)).toEqual(['50.00 USD deposited']);
  });

  it('tell the sender why a transfer failed', async () => {
    const [dee, eve] = [await harness.person('Dee'), await harness.person('Eve')];
    await harness.deposit(dee, '5.00');
    const refused = await harness.transfer(dee, eve, '9.99');
    expect(refused.errors?.[0]?.extensions?.code).toBe('INSUFFICIENT_FUNDS');
    const failed = await notificationOf(dee, (node) => node.kind === 'TRANSACTION_FAILED');
    expect(failed).toMatchObject({
      title: 'Your transfer of 9.99 USD failed',
      body: 'It failed because your wallet did not hold enough USD. Nothing was moved.',
      data: { failureCode: 'INSUFFICIENT_FUNDS', status: 'FAILED', transactionId: refused.errors?.[0]?.extensions?.transactionId },
    });
    expect((await notificationsOf(harness, eve)).nodes).toEqual([]);
  });

  it('tell a user when a debit empties a wallet', async () => {
    const [fay, gus] = [await harness.person('Fay'), await harness.person('Gus')];
    await harness.deposit(fay, '3.00');
    expect((await harness.transfer(fay, gus, '3.00')).data?.transfer.status).toBe('COMPLETED');
    const empty = await notificationOf(fay, (node) => node.kind === 'WALLET_EMPTY');
    expect(empty).toMatchObject({ title: 'Your USD wallet is empty', body: 'Your USD balance is now 0.00 USD.' });
  });
});

describe('reading notifications', () => {
  it('counts down as the owner marks them read, and ids of someone else change nothing', async () => {
    const [hal, ivy] = [await harness.person('Hal'), await harness.person('Ivy')];
    for (const amount of ['1.00', '2.00', '3.00']) await harness.deposit(hal, amount);
    const { nodes } = await waitFor(async () => {
      const page = await notificationsOf(harness, hal);
      // The list and the count are two queries: wait until both have seen the third notification.
      return page.unread === 3 && page.nodes.length === 3 && page;
    }, { timeoutMs: EVENT_WAIT_MS, message: 'three notifications' });
    const ids = nodes.map((node) => node.id);
    const MARK = /* GraphQL */ `mutation ($ids: [ID!]!) { markNotificationsRead(ids: $ids) }`;

    expect((await harness.graphql(MARK, { ids }, ivy.token)).data?.markNotificationsRead).toBe(0);
    expect((await notificationsOf(harness, hal)).unread).toBe(3);

    expect((await harness.graphql(MARK, { ids: [ids[0]] }, hal.token)).data?.markNotificationsRead).toBe(1);
    expect((await notificationsOf(harness, hal)).unread).toBe(2);
    expect((await harness.graphql(MARK, { ids: [ids[0]] }, hal.token)).data?.markNotificationsRead).toBe(0);
    expect((await harness.graphql(MARK, { ids }, hal.token)).data?.markNotificationsRead).toBe(2);
    const after = await notificationsOf(harness, hal);
    expect(after.unread).toBe(0);
    expect(after.nodes.every((node) => node.readAt !== null)).toBe(true);
    expect((await notificationsOf(harness, hal, { unreadOnly: true })).nodes).toEqual([]);

    const tooMany = await harness.graphql(MARK, { ids: Array.from({ length: 101 }, () => ids[0]) }, hal.token);
    expect(tooMany.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'ids' });
    const notIds = await harness.graphql(MARK, { ids: ['not-an-id'] }, hal.token);
    expect(notIds.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'ids' });
  });

  it('pages newest first with an opaque cursor, at most 100 at a time', async () => {
    const jo = await harness.person('Jo');
    for (const amount of ['1.00', '2.00', '3.00']) await harness.deposit(jo, amount);
    await waitFor(async () => (await notificationsOf(harness, jo)).nodes.length === 3, { timeoutMs: EVENT_WAIT_MS, message: 'three notifications' });
    const first = await notificationsOf(harness, jo, { first: 2 });
    expect(first.nodes.map((node) => node.title)).toEqual(['3.00 USD deposited', '2.00 USD deposited']);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = await notificationsOf(harness, jo, { first: 2, after: first.pageInfo.endCursor! });
    expect(second.nodes.map((node) => node.title)).toEqual(['1.00 USD deposited']);
    expect(second.pageInfo.hasNextPage).toBe(false);

    const refused = await Promise.all([
      harness.graphql(`{ notifications(first: 101) { edges { cursor } } }`, {}, jo.token),
      harness.graphql(`{ notifications(first: 0) { edges { cursor } } }`, {}, jo.token),
      harness.graphql(`{ notifications(after: "garbage") { edges { cursor } } }`, {}, jo.token),
    ]);
    expect(refused.map((result) => result.errors?.[0]?.extensions)).toEqual([
      { code: 'BAD_USER_INPUT', field: 'first' },
      { code: 'BAD_USER_INPUT', field: 'first' },
      { code: 'BAD_USER_INPUT', field: 'after' },
    ]);
  });

  it('needs a signed-in caller', async () => {
    const result = await harness.graphql(`{ unreadNotificationCount }`);
    expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('visibility', () => {
  it('shows User.notifications to the holder and ADMINs only, on every path', async () => {
    const [kim, lee] = [await harness.person('Kim'), await harness.person('Lee')];
    await harness.deposit(kim, '10.00');
    const transfer = await harness.transfer(kim, lee, '4.00');
    await notificationOf(lee, (node) => node.kind === 'FUNDS_RECEIVED');

    const own = await harness.graphql(`{ me { unreadNotificationCount notifications(first: 5) { edges { node { title } } } } }`, {}, lee.token);
    expect(own.data?.me).toEqual({ unreadNotificationCount: 1, notifications: { edges: [{ node: { title: 'You received 4.00 USD' } }] } });

    // Lee may see who paid him, but not what the payer was told.
    const viaTransaction = await harness.graphql(
      `query ($id: ID!) { transaction(id: $id) { from { displayName unreadNotificationCount } } }`,
      { id: transfer.data?.transfer.id },
      lee.token,
    );
    expect(viaTransaction.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(viaTransaction.data?.transaction?.from ?? null).toBeNull();

    const asAdmin = await harness.graphql(`query ($id: ID!) { user(id: $id) { unreadNotificationCount } }`, { id: lee.id }, harness.adminToken);
    expect(asAdmin.data?.user).toEqual({ unreadNotificationCount: 1 });
  });

  it('answers _entities with nothing of another user’s', async () => {
    const [max, ned] = [await harness.person('Max'), await harness.person('Ned')];
    await harness.deposit(max, '1.00');
    const mine = await notificationOf(max, (node) => node.kind === 'FUNDS_RECEIVED');
    const credential = new InternalCredential(TEST_SECRETS.GATEWAY_SECRET);
    const entitiesAs = async (who: Person) =>
      fetch(harness.stack.subgraphs.notification!.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [INTERNAL_CREDENTIAL_HEADER]: await credential.mint({ kind: 'gateway', identity: { userId: who.id, role: 'BUYER' } }) },
        body: JSON.stringify({
          query: /* GraphQL */ `query ($r: [_Any!]!) { _entities(representations: $r) { ... on Notification { id title } ... on User { unreadNotificationCount } } }`,
          variables: { r: [{ __typename: 'Notification', id: mine.id }, { __typename: 'User', id: max.id }] },
        }),
      }).then((response) => response.json() as Promise<{ data: { _entities: unknown[] }; errors?: { extensions: { code: string } }[] }>);

    const stranger = await entitiesAs(ned);
    expect(stranger.data._entities).toEqual([null, null]);
    expect(stranger.errors?.map((error) => error.extensions.code)).toEqual(['FORBIDDEN']);
    const owner = await entitiesAs(max);
    expect(owner.data._entities).toEqual([{ id: mine.id, title: '1.00 USD deposited' }, { unreadNotificationCount: 1 }]);
  });
});
