import type { PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import type * as schema from './schema.js';

export type TransactionDb = PostgresJsDatabase<typeof schema>;
export type SqlTransaction = Parameters<Parameters<TransactionDb['transaction']>[0]>[0];
