CREATE TABLE "transaction_feed" (
	"user_id" uuid NOT NULL,
	"seq" bigint NOT NULL,
	"transaction_id" uuid NOT NULL,
	"status" "transaction_status" NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "transaction_feed_user_id_seq_pk" PRIMARY KEY("user_id","seq")
);
--> statement-breakpoint
CREATE TABLE "transaction_feed_heads" (
	"user_id" uuid PRIMARY KEY NOT NULL,
	"seq" bigint NOT NULL
);
--> statement-breakpoint
CREATE INDEX "transaction_feed_created_idx" ON "transaction_feed" USING btree ("created_at");