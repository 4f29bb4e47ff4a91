import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './subgraphs/transaction/src/db/schema.ts',
  out: './subgraphs/transaction/src/db/migrations',
});
