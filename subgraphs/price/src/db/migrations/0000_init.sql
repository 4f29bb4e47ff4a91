CREATE TYPE "public"."price_source" AS ENUM('coingecko', 'simulated');--> statement-breakpoint
CREATE TYPE "public"."price_symbol" AS ENUM('MCO2', 'ETH');--> statement-breakpoint
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
CREATE TABLE "prices" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"symbol" "price_symbol" NOT NULL,
	"vs_currency" text NOT NULL,
	"value" numeric(38, 18) NOT NULL,
	"source" "price_source" NOT NULL,
	"observed_at" timestamp with time zone NOT NULL,
	"recorded_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "prices_value_positive" CHECK ("prices"."value" > 0)
);
--> statement-breakpoint
CREATE TABLE "processed_events" (
	"consumer" text NOT NULL,
	"event_id" uuid NOT NULL,
	"processed_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "processed_events_consumer_event_id_pk" PRIMARY KEY("consumer","event_id")
);
--> statement-breakpoint
CREATE INDEX "outbox_unsent_idx" ON "outbox" USING btree ("seq") WHERE "outbox"."sent_at" is null;--> statement-breakpoint
CREATE UNIQUE INDEX "prices_observation_idx" ON "prices" USING btree ("symbol","vs_currency","source","observed_at");--> statement-breakpoint
CREATE INDEX "prices_latest_idx" ON "prices" USING btree ("symbol","vs_currency","observed_at" DESC NULLS LAST);