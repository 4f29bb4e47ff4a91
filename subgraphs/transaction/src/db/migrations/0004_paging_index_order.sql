DROP INDEX "retirements_user_idx";--> statement-breakpoint
DROP INDEX "transactions_from_idx";--> statement-breakpoint
DROP INDEX "transactions_to_idx";--> statement-breakpoint
DROP INDEX "transactions_initiator_idx";--> statement-breakpoint
CREATE INDEX "retirements_user_idx" ON "retirements" USING btree ("user_id","retired_at" DESC NULLS FIRST,"id" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "transactions_from_idx" ON "transactions" USING btree ("from_user_id","created_at" DESC NULLS FIRST,"id" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "transactions_to_idx" ON "transactions" USING btree ("to_user_id","created_at" DESC NULLS FIRST,"id" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "transactions_initiator_idx" ON "transactions" USING btree ("initiator_id","created_at" DESC NULLS FIRST,"id" DESC NULLS FIRST);