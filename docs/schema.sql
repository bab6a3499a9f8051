-- RxEventBus.Postgres: the events table, for a DBA to create ahead of time.
--
-- This is EventTable.CreateScript for the default schema and table (EB_PG_SCHEMA=public, EB_PG_TABLE=events);
-- a test keeps the two identical. For other names, replace "public" and "events" everywhere, index names
-- included ("<table>_<column>_idx").
--
-- Columns: the seed's, in native types. data is the payload as JSON; times are UTC; expires_at is
-- occurred_at + (ttl, or EB_PG_DEFAULT_TTL_IN_MS when the event has none), computed when the row is written
-- (NULL when occurred_at is NULL: such rows never expire), so deleting expired rows is one range scan of
-- "events_expires_at_idx".
--
-- Idempotent: safe to run again.

CREATE SCHEMA IF NOT EXISTS "public";
CREATE TABLE IF NOT EXISTS "public"."events" (
    id             uuid        PRIMARY KEY,
    transaction_id uuid        NULL,
    topic          text        NOT NULL,
    data           jsonb       NOT NULL,
    initialized_at timestamptz NULL,
    occurred_at    timestamptz NULL,
    source         text        NULL,
    ttl            interval    NULL,
    expires_at     timestamptz NULL
);
CREATE INDEX IF NOT EXISTS "events_occurred_at_idx" ON "public"."events" (occurred_at DESC);
CREATE INDEX IF NOT EXISTS "events_topic_idx" ON "public"."events" (topic);
CREATE INDEX IF NOT EXISTS "events_transaction_id_idx" ON "public"."events" (transaction_id);
CREATE INDEX IF NOT EXISTS "events_expires_at_idx" ON "public"."events" (expires_at);

-- Least privilege: the application's role needs only these. Create the role first (or put your own role's
-- name in its place), for example:
--     CREATE ROLE rxeventbus LOGIN PASSWORD '…';
-- SELECT serves the store's queries, INSERT the consumer's COPY, DELETE Delete and the TTL cleaner; CONNECT on
-- the database is needed too, which PUBLIC has unless it was revoked.
-- Such a role cannot create the table, so turn schema creation off in the application:
-- EnsureSchema = false, or EB_PG_ENSURE_SCHEMA=false.
GRANT USAGE ON SCHEMA "public" TO rxeventbus;
GRANT SELECT, INSERT, DELETE ON TABLE "public"."events" TO rxeventbus;
