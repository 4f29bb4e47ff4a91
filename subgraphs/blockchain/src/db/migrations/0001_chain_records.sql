ALTER TYPE "public"."chain_transaction_kind" ADD VALUE 'WITHDRAWAL';--> statement-breakpoint
ALTER TYPE "public"."chain_transaction_kind" ADD VALUE 'RETIRE';--> statement-breakpoint
ALTER TYPE "public"."chain_transaction_kind" ADD VALUE 'DEPOSIT_BURN';--> statement-breakpoint
CREATE TABLE "chain_retirements" (
	"id" uuid PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"amount" numeric(78, 0) NOT NULL,
	"beneficiary" text NOT NULL,
	"message" text,
	"certificate_id" numeric(78, 0),
	"retire_transaction_id" uuid,
	"failure_message" text,
	"attempts" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "deposits" (
	"chain_event_id" uuid PRIMARY KEY NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"user_id" uuid NOT NULL,
	"amount" numeric(78, 0) NOT NULL,
	"tx_hash" text NOT NULL,
	"status" text DEFAULT 'BURNING' NOT NULL,
	"failure_message" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "deposits_id_unique" UNIQUE("id")
);
--> statement-breakpoint
CREATE TABLE "withdrawals" (
	"id" uuid PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"to_address" text NOT NULL,
	"amount" numeric(78, 0) NOT NULL,
	"failure_code" text,
	"failure_message" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "chain_transactions" ADD COLUMN "reference" uuid;--> statement-breakpoint
CREATE INDEX "chain_retirements_open_idx" ON "chain_retirements" USING btree ("created_at") WHERE "chain_retirements"."certificate_id" is null and "chain_retirements"."failure_message" is null;--> statement-breakpoint
CREATE INDEX "deposits_burning_idx" ON "deposits" USING btree ("created_at") WHERE "deposits"."status" = 'BURNING';--> statement-breakpoint
CREATE INDEX "chain_transactions_reference_idx" ON "chain_transactions" USING btree ("reference","created_at");