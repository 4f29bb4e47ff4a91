import type { Identity } from '../../lib/auth/identity.js';
import type { InternalCredential } from '../../lib/auth/internal-credential.js';
import { ExpiringCache } from '../../lib/auth/token-cache.js';
import { AppError, unauthenticated } from '../../lib/errors.js';
import { InternalClient, UpstreamUnavailable } from '../../lib/internal-client.js';
import type { Logger } from '../../lib/log.js';
import { type UserSummary, userLookupCall } from '../../lib/users/lookup.js';
import type { GatewayConfig } from './config.js';
import type { SubgraphEndpoint } from './supergraph.js';

/**
 * Whether a token's holder may still act. A signed token outlives its account (up to JWT_TTL_SECONDS), so the
 * gateway asks the user subgraph, and keeps the answer a short while so the hot path is a map lookup.
 * `missing` is the only refusal today; a `disabled` status belongs here once accounts can be disabled.
 */
export type AccountStatus = 'active' | 'missing';

export interface AccountCheckSettings {
  /** How long "this account exists" is believed without asking again. */
  ttlMs: number;
  /** How long "no such account" is believed: short, so an account that comes back is served soon. */
  negativeTtlMs: number;
  /** While the user subgraph does not answer, a "yes" this old at most still serves (0: never). */
  outageGraceMs: number;
}

/** What the HTTP and WebSocket paths ask of an identity from a valid token (AccountCheck, or a stand-in in the benchmark). */
export interface AccountConfirmation {
  confirm(identity: Identity): Promise<Identity>;
}

/** Bounds the memory: at ~200 bytes an entry, 100,000 active accounts hold about 20 MB. */
const CACHE_SIZE_MAX = 100_000;

/** While serving on an earlier "yes" through an outage, the user subgraph is asked again at most this often per account. */
const OUTAGE_RETRY_MS = 1_000;

interface Answer {
  status: AccountStatus;
  checkedAtMs: number;
  /** Until then the answer is used without asking. */
  freshUntilMs: number;
}

/** What the user subgraph's summary says of the account. A status column, once there is one, maps here. */
const statusOf = (_summary: UserSummary): AccountStatus => 'active';

/** The user subgraph's answer for one id: NOT_FOUND is `missing`; no answer stays UpstreamUnavailable. */
export function lookupAccount(users: InternalClient): (userId: string) => Promise<AccountStatus> {
  return async (userId) => {
    try {
      return statusOf(await users.call(userLookupCall, { id: userId }));
    } catch (error) {
      if (error instanceof AppError && error.code === 'NOT_FOUND') return 'missing';
      throw error;
    }
  };
}

/**
 * Refuses tokens whose account is gone, with UNAUTHENTICATED, on HTTP and WebSocket alike. When the user
 * subgraph cannot be reached, a holder it confirmed within `outageGraceMs` is still served (one outage must not
 * sign every client out, and an account that existed minutes ago almost surely still does); anyone else gets
 * UPSTREAM_UNAVAILABLE, never UNAUTHENTICATED, so a client keeps its token and retries.
 */
export class AccountCheck implements AccountConfirmation {
  readonly #answers = new ExpiringCache<Answer>(CACHE_SIZE_MAX);
  /** One question per account at a time: a burst after an entry expires asks once. */
  readonly #asking = new Map<string, Promise<Answer>>();

  constructor(
    private readonly lookup: (userId: string) => Promise<AccountStatus>,
    private readonly settings: AccountCheckSettings,
    private readonly log: Logger,
  ) {}

  async confirm(identity: Identity, nowMs = Date.now()): Promise<Identity> {
    const known = this.#answers.get(identity.userId, nowMs);
    const answer = known && nowMs < known.freshUntilMs ? known : await this.#ask(identity.userId, known, nowMs);
    if (answer.status !== 'active') throw unauthenticated('This account no longer exists: sign in again');
    return identity;
  }

  async #ask(userId: string, known: Answer | undefined, nowMs: number): Promise<Answer> {
    let asking = this.#asking.get(userId);
    if (!asking) {
      asking = this.#lookUp(userId).finally(() => this.#asking.delete(userId));
      this.#asking.set(userId, asking);
    }
    try {
      return await asking;
    } catch (error) {
      // Only a stale "yes" is kept through an outage; the cache keeps it until the grace ends.
      if (error instanceof UpstreamUnavailable && known?.status === 'active') {
        this.log.warn({ userId, err: String(error.cause) }, 'user subgraph unavailable; served on an earlier account check');
        // Not every request of this account should wait for a service that is down.
        this.#remember(userId, { ...known, freshUntilMs: nowMs + OUTAGE_RETRY_MS });
        return known;
      }
      throw error;
    }
  }

  async #lookUp(userId: string): Promise<Answer> {
    const checkedAtMs = Date.now();
    const status = await this.lookup(userId);
    const answer = { status, checkedAtMs, freshUntilMs: checkedAtMs + (status === 'active' ? this.settings.ttlMs : this.settings.negativeTtlMs) };
    this.#remember(userId, answer);
    return answer;
  }

  /** A "yes" is kept through the outage grace, for the outage path; a "no" only while it is fresh. */
  #remember(userId: string, answer: Answer): void {
    const keptMs = answer.status === 'active' ? Math.max(this.settings.ttlMs, this.settings.outageGraceMs) : this.settings.negativeTtlMs;
    this.#answers.set(userId, answer, answer.checkedAtMs + keptMs);
  }
}

/** The check the gateway runs: the user subgraph's internal lookup, with the ACCOUNT_CHECK_* settings. */
export function accountCheckFor(config: GatewayConfig, subgraphs: SubgraphEndpoint[], credential: InternalCredential, log: Logger): AccountCheck {
  const userUrl = subgraphs.find((subgraph) => subgraph.name === 'user')?.url;
  if (!userUrl) throw new Error('the supergraph has no user subgraph to check accounts with');
  const users = new InternalClient(userUrl, credential, { kind: 'service', service: 'gateway' }, config.ACCOUNT_CHECK_TIMEOUT_MS, log);
  const settings = { ttlMs: config.ACCOUNT_CHECK_TTL_MS, negativeTtlMs: config.ACCOUNT_CHECK_NEGATIVE_TTL_MS, outageGraceMs: config.ACCOUNT_CHECK_OUTAGE_GRACE_MS };
  return new AccountCheck(lookupAccount(users), settings, log);
}
