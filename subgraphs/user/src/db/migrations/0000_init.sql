CREATE TYPE "public"."currency" AS ENUM('USD', 'ETH', 'CARBON');--> statement-breakpoint
CREATE TYPE "public"."role" AS ENUM('BUYER', 'SELLER', 'ADMIN');--> statement-breakpoint
CREATE TYPE "public"."system_account" AS ENUM('external', 'market', 'retired');--> statement-breakpoint
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
CREATE TABLE "posting_entries" (
	"posting_id" uuid NOT NULL,
	"wallet_id" uuid NOT NULL,
	"currency" "currency" NOT NULL,
	"amount" numeric(78, 0) NOT NULL,
	"balance_after" numeric(78, 0) NOT NULL,
	CONSTRAINT "posting_entries_posting_id_wallet_id_pk" PRIMARY KEY("posting_id","wallet_id")
);
--> statement-breakpoint
CREATE TABLE "postings" (
	"id" uuid PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"request_hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "processed_events" (
	"consumer" text NOT NULL,
	"event_id" uuid NOT NULL,
	"processed_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "processed_events_consumer_event_id_pk" PRIMARY KEY("consumer","event_id")
);
--> statement-breakpoint
CREATE TABLE "users" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"email" text NOT NULL,
	"password_hash" text NOT NULL,
	"display_name" text NOT NULL,
	"role" "role" NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "wallets" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"user_id" uuid,
	"system_account" "system_account",
	"currency" "currency" NOT NULL,
	"balance" numeric(78, 0) DEFAULT '0' NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "wallets_exactly_one_owner" CHECK (("wallets"."user_id" is null) <> ("wallets"."system_account" is null)),
	CONSTRAINT "wallets_balance_not_negative" CHECK ("wallets"."balance" >= 0 or "wallets"."system_account" is not distinct from 'external')
);
--> statement-breakpoint
ALTER TABLE "posting_entries" ADD CONSTRAINT "posting_entries_posting_id_postings_id_fk" FOREIGN KEY ("posting_id") REFERENCES "public"."postings"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "posting_entries" ADD CONSTRAINT "posting_entries_wallet_id_wallets_id_fk" FOREIGN KEY ("wallet_id") REFERENCES "public"."wallets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "wallets" ADD CONSTRAINT "wallets_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "outbox_unsent_idx" ON "outbox" USING btree ("seq") WHERE "outbox"."sent_at" is null;--> statement-breakpoint
CREATE INDEX "posting_entries_wallet_idx" ON "posting_entries" USING btree ("wallet_id");--> statement-breakpoint
CREATE UNIQUE INDEX "users_email_lower_idx" ON "users" USING btree (lower("email"));--> statement-breakpoint
CREATE UNIQUE INDEX "wallets_user_currency_idx" ON "wallets" USING btree ("user_id","currency");--> statement-breakpoint
CREATE UNIQUE INDEX "wallets_system_currency_idx" ON "wallets" USING btree ("system_account","currency");--> statement-breakpoint
-- System accounts: one wallet per currency each, so every posting balances from the first day.
INSERT INTO "wallets" ("system_account", "currency")
SELECT account, currency FROM unnest(enum_range(NULL::"system_account")) AS account CROSS JOIN unnest(enum_range(NULL::"currency")) AS currency;
