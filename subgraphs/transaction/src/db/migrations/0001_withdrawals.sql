ALTER TYPE "public"."transaction_type" ADD VALUE 'WITHDRAWAL';--> statement-breakpoint
ALTER TABLE "transactions" ADD COLUMN "to_address" text;--> statement-breakpoint
ALTER TABLE "transactions" ADD COLUMN "chain_transaction_id" uuid;--> statement-breakpoint
ALTER TABLE "retirements" DROP COLUMN "chain_transaction_hash";--> statement-breakpoint
ALTER TABLE "retirements" DROP COLUMN "certificate_id";