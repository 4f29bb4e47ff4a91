import { createSecretKey, type KeyObject } from 'node:crypto';
import { errors as joseErrors, type JWTPayload, jwtVerify, SignJWT } from 'jose';
import { ExpiringCache } from './token-cache.js';
import { unauthenticated } from '../errors.js';
import { type Identity, isRole } from './identity.js';

/**
 * The credential subgraphs require on every call: a short-lived token signed with the deployment's
 * GATEWAY_SECRET. The gateway mints one per request carrying the caller's identity, so identity can
 * never come from a client header; services mint one naming themselves for internal calls
 * (e.g. the transaction subgraph applying a posting). A client that reaches a subgraph port directly has
 * no way to make one and gets 401.
 */
export const INTERNAL_CREDENTIAL_HEADER = 'x-ecocoin-internal';
const ALGORITHM = 'HS256';
const AUDIENCE = 'ecocoin-internal';
const ISSUER = 'ecocoin';
/** Long enough for one request and its retries, short enough that a leaked token is soon useless. */
const TTL_SECONDS = 60;

export type Caller =
  | { kind: 'gateway'; identity: Identity | null }
  | { kind: 'service'; service: string };

/** A minted token is reused while it has at least this long to live, so a receiver never gets one about to expire. */
const REUSE_MARGIN_SECONDS = 20;
const CACHE_SIZE_MAX = 10_000;

export class InternalCredential {
  readonly #key: KeyObject;
  readonly #minted = new ExpiringCache<string>(CACHE_SIZE_MAX);
  readonly #verified = new ExpiringCache<Caller>(CACHE_SIZE_MAX);

  constructor(secret: string) {
    this.#key = createSecretKey(Buffer.from(secret, 'utf8'));
  }

  async mint(caller: Caller): Promise<string> {
    const cacheKey = caller.kind === 'service' ? `s:${caller.service}` : `g:${caller.identity?.userId ?? ''}:${caller.identity?.role ?? ''}`;
    const cached = this.#minted.get(cacheKey);
    if (cached) return cached;
    const token = await this.#sign(caller);
    this.#minted.set(cacheKey, token, Date.now() + (TTL_SECONDS - REUSE_MARGIN_SECONDS) * 1000);
    return token;
  }

  #sign(caller: Caller): Promise<string> {
    const claims =
      caller.kind === 'service'
        ? { kind: 'service', svc: caller.service }
        : { kind: 'gateway', ...(caller.identity ? { uid: caller.identity.userId, role: caller.identity.role } : {}) };
    return new SignJWT(claims)
      .setProtectedHeader({ alg: ALGORITHM })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(`${TTL_SECONDS}s`)
      .sign(this.#key);
  }

  async verify(token: string | undefined): Promise<Caller> {
    if (!token) throw unauthenticated('This service only answers the gateway and other EcoCoin services');
    const cached = this.#verified.get(token);
    if (cached) return cached;
    try {
      const { payload } = await jwtVerify(token, this.#key, { algorithms: [ALGORITHM], issuer: ISSUER, audience: AUDIENCE, requiredClaims: ['exp'] });
      const caller = callerOf(payload);
      this.#verified.set(token, caller, (payload.exp as number) * 1000);
      return caller;
    } catch (error) {
      if (error instanceof joseErrors.JOSEError) throw unauthenticated('Internal credential is invalid or expired');
      throw error;
    }
  }
}

function callerOf(payload: JWTPayload): Caller {
  if (payload.kind === 'service' && typeof payload.svc === 'string') return { kind: 'service', service: payload.svc };
  if (payload.kind === 'gateway') {
    if (payload.uid === undefined) return { kind: 'gateway', identity: null };
    if (typeof payload.uid === 'string' && isRole(payload.role)) return { kind: 'gateway', identity: { userId: payload.uid, role: payload.role } };
  }
  throw unauthenticated('Internal credential is malformed');
}
