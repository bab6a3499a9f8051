-- RxEventBus.Postgres: the events table and its dead-letter table, for a DBA to create ahead of time.
--
-- This is EventTable.CreateScript for the default schema and table (EB_PG_SCHEMA=public, EB_PG_TABLE=events);
-- a test keeps the two identical. For other names, replace "public" and "events" everywhere, index names
-- included: "<table>_<column>_idx" on the events table, "<table>_position_seq" for its sequence,
-- "<table>_dead_letters" for the dead-letter table and "<table>_<column>_dl_idx" on it, "<table>_subscriptions"
-- for the checkpoints. (The dead-letter index names are short so that they stay within
-- PostgreSQL's 63 bytes for the longest table name allowed, 40 characters, and end in "_dl_idx" so that no
-- events index of any table in the schema can have the same name.)
--
-- Events table: event_bus_postgres's columns, in native types. data is the payload as the serializer made it
-- (by default its JSON's UTF-8 bytes; EB_PG_PAYLOAD_TYPE chooses bytea, json or jsonb, docs/persistence.md
-- "Payload types"); times are UTC; expires_at is occurred_at + (ttl, or EB_PG_DEFAULT_TTL_IN_MS when the event has
-- none), computed when the row is written (NULL when occurred_at is NULL: such rows never expire), so deleting
-- expired rows is one range scan of "events_expires_at_idx" (BRIN, summarized as each block range fills). The
-- indexes are the default layout's (EB_PG_INDEX_LAYOUT, docs/persistence.md "Index layouts").
--
-- Dead-letter table: one row per event the consumer can never write to the events table (its payload does
-- not serialize, or the database refuses the row), keyed by the event's id. It holds the event's columns,
-- except that data is the payload's JSON as it was made (UTF-8 bytes, bytea since it may not be valid jsonb;
-- NULL when it could not be made) and data_type the payload's .NET type name; reason says why in words,
-- error_type is the SQLSTATE or the exception's type name; first_failed_at, last_failed_at and attempts count
-- the failures of an event that fails again (after a replay). Listed newest first through
-- "events_last_failed_at_dl_idx", or by topic through "events_topic_dl_idx".
--
-- tx and position place every row in the log that subscriptions read (docs/adr/0004): tx is the writing
-- transaction (pg_current_xact_id(), filled by the column's default for ANY writer, a plain INSERT from another
-- program included; all rows of one transaction share it) and position numbers the rows from
-- "events_position_seq", which the column owns. Subscriptions read in (tx, position) order through
-- "events_tx_position_idx", and only behind the oldest transaction still running, so none passes a row that
-- commits later. position is NULL-able only so that it can be added to an existing table without a rewrite.
-- The sequence has CACHE 1000: each database session takes 1,000 values at a time, so a row's nextval costs
-- the writer no lock on the sequence and no WAL. Within one transaction (one session) positions increase in
-- the order the rows were inserted, which is all the (tx, position) order needs; across transactions they are
-- not in insert order, and they have gaps (the values a session took and did not use).
--
-- Subscriptions table: one checkpoint per named subscription. Every events row whose (tx, position) is at or
-- below (tx, position) here has been handled by that subscription; the TTL cleaner keeps expired rows above the
-- lowest checkpoint (EB_PG_TTL_SPARES_UNREAD, on by default).
--
-- Idempotent: safe to run again. SchemaManager.EnsureSchemaAsync (what the consumer runs with EnsureSchema
-- on) creates the same, and on an older table adds the columns it lacks (such as expires_at, tx and position,
-- without rewriting the table, then numbers the rows already there in batches) and the missing indexes; it refuses a table of another shape (for example event_bus_postgres's, with bigint times and bytea
-- data) without changing it. SchemaManager.VerifySchemaAsync only checks, and changes nothing.

CREATE SCHEMA IF NOT EXISTS "public";

CREATE SEQUENCE IF NOT EXISTS "public"."events_position_seq" CACHE 1000;
CREATE TABLE IF NOT EXISTS "public"."events" (
    id             uuid        PRIMARY KEY,
    transaction_id uuid        NULL,
    topic          text        NOT NULL,
    data           bytea       NOT NULL,
    initialized_at timestamptz NULL,
    occurred_at    timestamptz NULL,
    source         text        NULL,
    ttl            interval    NULL,
    expires_at     timestamptz NULL,
    tx             xid8        NOT NULL DEFAULT pg_current_xact_id(),
    position       bigint      NULL DEFAULT nextval('"public"."events_position_seq"'::regclass)
);
ALTER SEQUENCE "public"."events_position_seq" OWNED BY "public"."events".position;
CREATE INDEX IF NOT EXISTS "events_occurred_at_idx" ON "public"."events" (occurred_at);
CREATE INDEX IF NOT EXISTS "events_transaction_id_idx" ON "public"."events" (transaction_id) WHERE transaction_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS "events_expires_at_idx" ON "public"."events" USING brin (expires_at) WITH (autosummarize = on);
CREATE INDEX IF NOT EXISTS "events_tx_position_idx" ON "public"."events" (tx, position);

CREATE TABLE IF NOT EXISTS "public"."events_dead_letters" (
    id              uuid        PRIMARY KEY,
    transaction_id  uuid        NULL,
    topic           text        NOT NULL,
    data            bytea       NULL,
    data_type       text        NULL,
    initialized_at  timestamptz NULL,
    occurred_at     timestamptz NULL,
    source          text        NULL,
    ttl             interval    NULL,
    reason          text        NOT NULL,
    error_type      text        NOT NULL,
    first_failed_at timestamptz NOT NULL,
    last_failed_at  timestamptz NOT NULL,
    attempts        integer     NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS "events_last_failed_at_dl_idx" ON "public"."events_dead_letters" (last_failed_at DESC);
CREATE INDEX IF NOT EXISTS "events_topic_dl_idx" ON "public"."events_dead_letters" (topic);

CREATE TABLE IF NOT EXISTS "public"."events_subscriptions" (
    name       text        PRIMARY KEY,
    tx         xid8        NOT NULL,
    position   bigint      NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Least privilege: the application's role needs only these. Create the role first (or put your own role's
-- name in its place), for example:
--     CREATE ROLE rxeventbus LOGIN PASSWORD '…';
-- On the events table, SELECT serves the store's queries and the subscriptions, INSERT the consumer's COPY,
-- DELETE Delete and the TTL cleaner; USAGE on the sequence lets an INSERT take its position (the column's
-- default calls nextval). On the dead-letter table, INSERT and UPDATE store a dead letter and count its
-- attempts (INSERT … ON CONFLICT (id) DO UPDATE), SELECT lists them, DELETE serves replay and purge. On the
-- subscriptions table, SELECT reads a checkpoint (and lets the TTL cleaner spare unread rows), INSERT and UPDATE
-- store it, DELETE forgets a subscription. CONNECT on the database is needed too, which PUBLIC has unless it
-- was revoked.
-- Such a role cannot create or alter the tables, so turn schema creation off in the application:
-- EnsureSchema = false, or EB_PG_ENSURE_SCHEMA=false.
GRANT USAGE ON SCHEMA "public" TO rxeventbus;
GRANT SELECT, INSERT, DELETE ON TABLE "public"."events" TO rxeventbus;
GRANT USAGE ON SEQUENCE "public"."events_position_seq" TO rxeventbus;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE "public"."events_dead_letters" TO rxeventbus;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE "public"."events_subscriptions" TO rxeventbus;
