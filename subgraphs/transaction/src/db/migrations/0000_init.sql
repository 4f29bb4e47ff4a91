CREATE TYPE "public"."currency" AS ENUM('USD', 'ETH', 'CARBON');--> statement-breakpoint
CREATE TYPE "public"."transaction_status" AS ENUM('PENDING', 'COMPLETED', 'FAILED');--> statement-breakpoint
CREATE TYPE "public"."transaction_type" AS ENUM('DEPOSIT', 'TRANSFER', 'PAYMENT', 'PURCHASE', 'RETIREMENT', 'MARKET_SUPPLY');--> statement-breakpoint
CREATE TABLE "outbox" (
	"seq" bigserial PRIMARY KEY NOT NULL,
	"id" uuid NOT NULL,
	"topic" text NOT NULL,
	"key" text NOT NULL,
	"envelope" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"sent_at" timestamp with time zone,
	CONSTRAINT "outbox_id_unique" UNIQUE("id")
);
--> statement-breakpoint
CREATE TABLE "processed_events" (
	"consumer" text NOT NULL,
	"event_id" uuid NOT NULL,
	"processed_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "processed_events_consumer_event_id_pk" PRIMARY KEY("consumer","event_id")
);
--> statement-breakpoint
CREATE TABLE "quotes" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"user_id" uuid NOT NULL,
	"carbon_amount" numeric(78, 0) NOT NULL,
	"usd_amount" numeric(78, 0) NOT NULL,
	"price_per_tonne" numeric(38, 18) NOT NULL,
	"price_source" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "retirements" (
	"id" uuid PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"amount" numeric(78, 0) NOT NULL,
	"beneficiary" text NOT NULL,
	"message" text,
	"retired_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"chain_transaction_hash" text,
	"certificate_id" text
);
--> statement-breakpoint
CREATE TABLE "transactions" (
	"id" uuid PRIMARY KEY NOT NULL,
	"type" "transaction_type" NOT NULL,
	"status" "transaction_status" DEFAULT 'PENDING' NOT NULL,
	"failure_code" text,
	"failure_message" text,
	"initiator_id" uuid NOT NULL,
	"idempotency_key" text NOT NULL,
	"request_hash" text NOT NULL,
	"from_user_id" uuid,
	"to_user_id" uuid,
	"currency" "currency" NOT NULL,
	"amount" numeric(78, 0) NOT NULL,
	"memo" text,
	"reference" text,
	"posting" jsonb NOT NULL,
	"details" jsonb,
	"quote_id" uuid,
	"price_per_tonne" numeric(38, 18),
	"price_source" text,
	"usd_amount" numeric(78, 0),
	"carbon_amount" numeric(78, 0),
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone DEFAULT now() NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"completed_at" timestamp with time zone,
	CONSTRAINT "transactions_amount_positive" CHECK ("transactions"."amount" > 0)
);
--> statement-breakpoint
CREATE INDEX "outbox_unsent_idx" ON "outbox" USING btree ("seq") WHERE "outbox"."sent_at" is null;--> statement-breakpoint
CREATE INDEX "retirements_user_idx" ON "retirements" USING btree ("user_id","retired_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE UNIQUE INDEX "transactions_idempotency_idx" ON "transactions" USING btree ("initiator_id","idempotency_key");--> statement-breakpoint
CREATE UNIQUE INDEX "transactions_quote_idx" ON "transactions" USING btree ("quote_id");--> statement-breakpoint
CREATE INDEX "transactions_from_idx" ON "transactions" USING btree ("from_user_id","created_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "transactions_to_idx" ON "transactions" USING btree ("to_user_id","created_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "transactions_initiator_idx" ON "transactions" USING btree ("initiator_id","created_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "transactions_pending_idx" ON "transactions" USING btree ("next_attempt_at") WHERE "transactions"."status" = 'PENDING';