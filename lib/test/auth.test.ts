import { describe, expect, it } from 'vitest';
import { InternalCredential } from '../auth/internal-credential.js';
import { ExpiringCache } from '../auth/token-cache.js';
import { issueUserToken, verifyUserToken } from '../auth/user-token.js';

const settings = { secret: 'a-secret-that-is-long-enough-for-hs256-000', issuer: 'ecocoin', audience: 'ecocoin-api', ttlSeconds: 3600 };

describe('token caches', () => {
  it('forgets entries when they expire and when full', () => {
    const cache = new ExpiringCache<number>(2);
    cache.set('a', 1, 1_000);
    expect(cache.get('a', 999)).toBe(1);
    expect(cache.get('a', 1_000)).toBeUndefined();
    cache.set('b', 2, 5_000);
    cache.set('c', 3, 5_000);
    cache.set('d', 4, 5_000);
    expect(cache.get('b', 0)).toBeUndefined();
    expect(cache.get('d', 0)).toBe(4);
  });

  it('reuses a minted internal credential, and a cached verification never vouches for another secret', async () => {
    const credential = new InternalCredential(settings.secret);
    const identity = { userId: '7f2b6f4e-54f4-4a77-9a3c-2b3f3a1d0c11', role: 'BUYER' as const };
    const token = await credential.mint({ kind: 'gateway', identity });
    expect(await credential.mint({ kind: 'gateway', identity })).toBe(token);
    expect(await credential.mint({ kind: 'gateway', identity: null })).not.toBe(token);
    expect(await credential.verify(token)).toEqual({ kind: 'gateway', identity });
    const other = new InternalCredential('another-secret-that-is-long-enough-000000');
    await expect(other.verify(token)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('verifies a user token once per key: another key refuses it even after it was cached', async () => {
    const { token } = await issueUserToken({ userId: '7f2b6f4e-54f4-4a77-9a3c-2b3f3a1d0c11', role: 'SELLER' }, settings);
    expect(await verifyUserToken(token, settings)).toEqual({ userId: '7f2b6f4e-54f4-4a77-9a3c-2b3f3a1d0c11', role: 'SELLER' });
    await expect(verifyUserToken(token, { ...settings, secret: 'another-secret-that-is-long-enough-000000' })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await expect(verifyUserToken(token, { ...settings, audience: 'someone-else' })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });
});
