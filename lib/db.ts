import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { backoffDelayMs } from './backoff.js';
import { AppError } from './errors.js';

/** A drizzle database or transaction: shared tables (the outbox, advisory locks) are written through whichever holds the change. */
// biome-ignore lint/suspicious/noExplicitAny: drizzle's schema generics differ per service; only the shared tables are used here.
export type SqlExecutor = PgDatabase<PgQueryResultHKT, any, any>;

/** Pool and time-out limits, set at the call site so no library default decides them. */
export interface DatabaseLimits {
  poolSizeMax: number;
  connectTimeoutSeconds: number;
  idleTimeoutSeconds: number;
  /** Server-side cap on any one statement, so a stuck query frees its connection. */
  statementTimeoutMs: number;
  /** Server-side cap on a transaction left open by a bug. */
  idleInTransactionTimeoutMs: number;
  /**
   * The longest wait before reconnecting after failed attempts. postgres.js's own back-off grows to 20 s, so a
   * service would stay down up to 20 s after a database outage ended.
   */
  reconnectDelayMaxSeconds: number;
}

export const DEFAULT_DATABASE_LIMITS: DatabaseLimits = {
  poolSizeMax: 10,
  connectTimeoutSeconds: 10,
  idleTimeoutSeconds: 30,
  statementTimeoutMs: 15_000,
  idleInTransactionTimeoutMs: 30_000,
  reconnectDelayMaxSeconds: 2,
};

export interface Database<Schema extends Record<string, unknown>> {
  sql: postgres.Sql;
  db: PostgresJsDatabase<Schema>;
  close(): Promise<void>;
}

/**
 * Told the text of every statement the pool sends, as it sends it: how tests count what one request costs.
 * Unset in production, where postgres.js then does no work for it.
 */
export type StatementObserver = (text: string) => void;

export function connectDatabase<Schema extends Record<string, unknown>>(
  url: string,
  schema: Schema,
  limits: DatabaseLimits = DEFAULT_DATABASE_LIMITS,
  onStatement?: StatementObserver,
): Database<Schema> {
  const sql = postgres(url, {
    ...(onStatement ? { debug: (_connection: number, text: string) => onStatement(text) } : {}),
    max: limits.poolSizeMax,
    connect_timeout: limits.connectTimeoutSeconds,
    idle_timeout: limits.idleTimeoutSeconds,
    onnotice: () => {},
    // Doubling from 0.1 s, with jitter so that every pool does not knock at once when the server comes back.
    // postgres.js counts in seconds.
    backoff: (attempts: number) => backoffDelayMs(attempts, { baseMs: 100, maxMs: limits.reconnectDelayMaxSeconds * 1000, jitter: 0.5 }) / 1000,
    connection: {
      statement_timeout: limits.statementTimeoutMs,
      idle_in_transaction_session_timeout: limits.idleInTransactionTimeoutMs,
      application_name: 'ecocoin',
    },
  });
  return { sql, db: drizzle(sql, { schema }), close: () => sql.end({ timeout: 5 }) };
}

/**
 * Applies the committed drizzle-kit migrations with one connection of its own, then closes it.
 * drizzle's migrator does not lock, so an advisory lock on that single connection keeps two processes that
 * start together from applying the same migration twice.
 */
export async function runMigrations(url: string, migrationsFolder: string): Promise<void> {
  const sql = postgres(url, { max: 1, connect_timeout: 10, onnotice: () => {} });
  try {
    await sql`select pg_advisory_lock(hashtext('ecocoin.migrate'))`;
    await migrate(drizzle(sql), { migrationsFolder });
    await sql`select pg_advisory_unlock(hashtext('ecocoin.migrate'))`;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** SQLSTATE query_canceled: here, the statement time-out ended a wait for a lock. */
const QUERY_CANCELED = '57014';

/**
 * Runs `task` while holding a session advisory lock on `key`, on a connection reserved for it: one holder at a
 * time across every process on the database, the others wait their turn, each for at most the statement
 * time-out, and then are refused with RATE_LIMITED and `busyMessage` (nothing of the task has run). A session
 * lock, not a transaction's, so what the task commits is visible to others while it still holds the lock. If the
 * connection dies the server lets the lock go, so work it fences must also be fenced by the data (a unique
 * index) where a double effect would matter. The task may run its own statements on the connection.
 */
export async function withSessionLock<T>(
  sql: postgres.Sql,
  key: string,
  busyMessage: string,
  task: (connection: postgres.ReservedSql) => Promise<T>,
): Promise<T> {
  const connection = await sql.reserve();
  try {
    await connection`select pg_advisory_lock(hashtext(${key}))`.catch((error: unknown) => {
      throw (error as { code?: unknown }).code === QUERY_CANCELED ? new AppError('RATE_LIMITED', busyMessage) : error;
    });
    try {
      return await task(connection);
    } finally {
      // A failed unlock means the connection is gone, and the server released the lock with it.
      await connection`select pg_advisory_unlock(hashtext(${key}))`.catch(() => {});
    }
  } finally {
    connection.release();
  }
}
