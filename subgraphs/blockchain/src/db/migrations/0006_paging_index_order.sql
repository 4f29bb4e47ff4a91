DROP INDEX "chain_transactions_user_idx";--> statement-breakpoint
CREATE INDEX "chain_transactions_user_idx" ON "chain_transactions" USING btree ("user_id","created_at" DESC NULLS FIRST);