import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './subgraphs/price/src/db/schema.ts',
  out: './subgraphs/price/src/db/migrations',
});
