import { describe, expect, it } from 'vitest';
import { InFlight } from '../src/in-flight.js';

/** Work the test settles by hand, counting how often it was started. */
function work<Value>() {
  const started: { resolve(value: Value): void; reject(error: Error): void }[] = [];
  const start = () => new Promise<Value>((resolve, reject) => started.push({ resolve, reject }));
  return { started, start };
}

describe('InFlight: identical work in flight at the same moment, done once', () => {
  it('gives every caller of a key the one piece of work in flight, and counts those that joined', async () => {
    let joined = 0;
    const inFlight = new InFlight<string>(() => (joined += 1));
    const { started, start } = work<string>();
    const answers = Promise.all([inFlight.share('a', start), inFlight.share('a', start), inFlight.share('a', start)]);
    const other = inFlight.share('b', start);
    expect(started).toHaveLength(2);
    expect(joined).toBe(2);
    started[0]!.resolve('for a');
    started[1]!.resolve('for b');
    expect(await answers).toEqual(['for a', 'for a', 'for a']);
    expect(await other).toBe('for b');
  });

  it('forgets the work once it settles, so the next caller starts anew: nothing is kept as a cache', async () => {
    const inFlight = new InFlight<number>();
    const { started, start } = work<number>();
    const first = inFlight.share('a', start);
    started[0]!.resolve(1);
    expect(await first).toBe(1);
    const second = inFlight.share('a', start);
    expect(started).toHaveLength(2);
    started[1]!.resolve(2);
    expect(await second).toBe(2);
  });

  it('fails every caller with the work’s failure, and forgets it too', async () => {
    const inFlight = new InFlight<number>();
    const { started, start } = work<number>();
    const both = [inFlight.share('a', start), inFlight.share('a', start)];
    started[0]!.reject(new Error('subgraph gone'));
    for (const answer of both) await expect(answer).rejects.toThrow('subgraph gone');
    const again = inFlight.share('a', start);
    expect(started).toHaveLength(2);
    started[1]!.resolve(3);
    expect(await again).toBe(3);
  });
});
