CREATE TABLE "price_polls" (
	"source" "price_source" PRIMARY KEY NOT NULL,
	"polled_at" timestamp with time zone NOT NULL
);
