import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './subgraphs/blockchain/src/db/schema.ts',
  out: './subgraphs/blockchain/src/db/migrations',
});
