import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './subgraphs/user/src/db/schema.ts',
  out: './subgraphs/user/src/db/migrations',
});
