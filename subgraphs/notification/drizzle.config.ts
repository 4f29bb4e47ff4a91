import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './subgraphs/notification/src/db/schema.ts',
  out: './subgraphs/notification/src/db/migrations',
});
