import { describe, expect, it } from 'vitest';
import { createPushQueue } from '../events/push-queue.js';

describe('the push queue behind subscriptions', () => {
  it('delivers pushed items in order, then ends', async () => {
    const queue = createPushQueue<number>({ lengthMax: 10, overflow: () => new Error('overflow'), onClose: () => {} });
    queue.push(1);
    queue.push(2);
    queue.end();
    const seen: number[] = [];
    for await (const item of queue) seen.push(item);
    expect(seen).toEqual([1, 2]);
  });

  it('lets go at once when the consumer returns while waiting, without another item', async () => {
    let closes = 0;
    const queue = createPushQueue<number>({ lengthMax: 10, overflow: () => new Error('overflow'), onClose: () => void (closes += 1) });
    const waiting = queue.next();
    await queue.return?.();
    expect(await waiting).toEqual({ value: undefined, done: true });
    expect(closes).toBe(1);
    queue.push(1);
    expect(await queue.next()).toEqual({ value: undefined, done: true });
  });

  it('fails past its bound instead of growing', async () => {
    const queue = createPushQueue<number>({ lengthMax: 2, overflow: () => new Error('too slow'), onClose: () => {} });
    for (const item of [1, 2, 3, 4]) queue.push(item);
    expect(await queue.next()).toEqual({ value: 1, done: false });
    expect(await queue.next()).toEqual({ value: 2, done: false });
    await expect(queue.next()).rejects.toThrow('too slow');
  });
});
