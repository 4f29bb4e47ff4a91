DROP INDEX "prices_latest_idx";--> statement-breakpoint
CREATE INDEX "prices_latest_idx" ON "prices" USING btree ("symbol","vs_currency","observed_at" DESC NULLS FIRST);