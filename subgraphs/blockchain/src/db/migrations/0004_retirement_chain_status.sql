DROP INDEX "chain_retirements_open_idx";--> statement-breakpoint
ALTER TABLE "chain_retirements" ADD COLUMN "announced_chain_status" text;--> statement-breakpoint
CREATE INDEX "chain_retirements_untold_idx" ON "chain_retirements" USING btree ("created_at") WHERE "chain_retirements"."announced_chain_status" is null or "chain_retirements"."announced_chain_status" not in ('CONFIRMED', 'FAILED');--> statement-breakpoint
-- Retirements recorded before this column existed are not told again.
UPDATE "chain_retirements" SET "announced_chain_status" = CASE WHEN "failure_message" IS NOT NULL THEN 'FAILED' ELSE 'CONFIRMED' END WHERE "certificate_id" IS NOT NULL OR "failure_message" IS NOT NULL;
