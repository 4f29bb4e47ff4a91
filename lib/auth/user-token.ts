import { createSecretKey, type KeyObject } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { ExpiringCache } from './token-cache.js';
import { unauthenticated } from '../errors.js';
import { type Identity, isRole } from './identity.js';

/** One algorithm, pinned on both sides: a token claiming any other (including `none`) is refused. */
const ALGORITHM = 'HS256';

export interface UserTokenSettings {
  secret: string;
  issuer: string;
  audience: string;
  ttlSeconds: number;
}

export interface IssuedToken {
  token: string;
  expiresAt: Date;
}

const keyCache = new Map<string, KeyObject>();
function keyOf(settings: UserTokenSettings): KeyObject {
  let key = keyCache.get(settings.secret);
  if (!key) keyCache.set(settings.secret, (key = createSecretKey(Buffer.from(settings.secret, 'utf8'))));
  return key;
}

/** Tokens verified before under each key, until they expire: every request carries one, usually the same as the last. */
const verifiedTokens = new WeakMap<KeyObject, ExpiringCache<Identity>>();
function verifiedUnder(key: KeyObject): ExpiringCache<Identity> {
  let cache = verifiedTokens.get(key);
  if (!cache) verifiedTokens.set(key, (cache = new ExpiringCache<Identity>(10_000)));
  return cache;
}

export async function issueUserToken(identity: Identity, settings: UserTokenSettings, now = new Date()): Promise<IssuedToken> {
  const issuedAtSeconds = Math.floor(now.getTime() / 1000);
  const expiresAtSeconds = issuedAtSeconds + settings.ttlSeconds;
  const token = await new SignJWT({ role: identity.role })
    .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
    .setSubject(identity.userId)
    .setIssuer(settings.issuer)
    .setAudience(settings.audience)
    .setIssuedAt(issuedAtSeconds)
    .setExpirationTime(expiresAtSeconds)
    .sign(keyOf(settings));
  return { token, expiresAt: new Date(expiresAtSeconds * 1000) };
}

/** Verifies signature, algorithm, issuer, audience and expiry; any failure is UNAUTHENTICATED with a reason a client can act on. */
export async function verifyUserToken(token: string, settings: UserTokenSettings): Promise<Identity> {
  const cache = verifiedUnder(keyOf(settings));
  const cacheKey = `${settings.issuer}\n${settings.audience}\n${token}`;
  const cached = cache.get(cacheKey);
  if (cached) return cached;
  try {
    const { payload } = await jwtVerify(token, keyOf(settings), {
      algorithms: [ALGORITHM],
      issuer: settings.issuer,
      audience: settings.audience,
      requiredClaims: ['sub', 'exp', 'iat'],
    });
    if (typeof payload.sub !== 'string' || !isRole(payload.role)) throw unauthenticated('Token is missing its subject or role');
    const identity: Identity = { userId: payload.sub, role: payload.role };
    cache.set(cacheKey, identity, (payload.exp as number) * 1000);
    return identity;
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) throw unauthenticated('Token has expired: sign in again');
    if (error instanceof joseErrors.JOSEError) throw unauthenticated('Token is invalid');
    throw error;
  }
}

/** `Authorization: Bearer <token>` → the token; absent → undefined; any other shape → UNAUTHENTICATED. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined || header === '') return undefined;
  const match = /^Bearer ([A-Za-z0-9\-_.]+)$/i.exec(header.trim());
  if (!match?.[1]) throw unauthenticated('Authorization header must be "Bearer <token>"');
  return match[1];
}
