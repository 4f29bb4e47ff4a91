CREATE TYPE "public"."chain_transaction_kind" AS ENUM('GAS_FUNDING', 'MINT', 'TRANSFER', 'APPROVE', 'STAKE', 'UNSTAKE', 'CLAIM_REWARDS', 'LINK_WALLET');--> statement-breakpoint
CREATE TYPE "public"."chain_transaction_status" AS ENUM('SUBMITTED', 'MINED', 'CONFIRMED', 'FAILED', 'REPLACED');--> statement-breakpoint
CREATE TABLE "chain_events" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"contract" text NOT NULL,
	"kind" text NOT NULL,
	"tx_hash" text NOT NULL,
	"log_index" integer NOT NULL,
	"block_number" bigint NOT NULL,
	"block_hash" text NOT NULL,
	"key" text NOT NULL,
	"amount" numeric(78, 0),
	"data" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "chain_transactions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"kind" "chain_transaction_kind" NOT NULL,
	"user_id" uuid,
	"signer" text NOT NULL,
	"nonce" integer,
	"hash" text,
	"status" "chain_transaction_status" NOT NULL,
	"revert_reason" text,
	"block_number" bigint,
	"block_hash" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "chain_transactions_hash_unique" UNIQUE("hash")
);
--> statement-breakpoint
CREATE TABLE "custody_accounts" (
	"user_id" uuid PRIMARY KEY NOT NULL,
	"address_index" serial NOT NULL,
	"address" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "custody_accounts_address_index_unique" UNIQUE("address_index"),
	CONSTRAINT "custody_accounts_address_unique" UNIQUE("address"),
	CONSTRAINT "custody_accounts_index_positive" CHECK ("custody_accounts"."address_index" > 0)
);
--> statement-breakpoint
CREATE TABLE "indexer_cursor" (
	"contract" text PRIMARY KEY NOT NULL,
	"last_block" bigint NOT NULL,
	"last_block_hash" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "linked_wallets" (
	"address" text PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"chain_transaction_id" uuid NOT NULL,
	"linked_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
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
CREATE TABLE "wallet_link_challenges" (
	"nonce" text PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"address" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"used_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "chain_events_log_idx" ON "chain_events" USING btree ("tx_hash","log_index");--> statement-breakpoint
CREATE INDEX "chain_events_block_idx" ON "chain_events" USING btree ("contract","block_number");--> statement-breakpoint
CREATE INDEX "chain_transactions_signer_nonce_idx" ON "chain_transactions" USING btree ("signer","nonce");--> statement-breakpoint
CREATE INDEX "chain_transactions_open_idx" ON "chain_transactions" USING btree ("created_at") WHERE "chain_transactions"."status" in ('SUBMITTED', 'MINED');--> statement-breakpoint
CREATE INDEX "chain_transactions_user_idx" ON "chain_transactions" USING btree ("user_id","created_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "linked_wallets_user_idx" ON "linked_wallets" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "outbox_unsent_idx" ON "outbox" USING btree ("seq") WHERE "outbox"."sent_at" is null;