#!/usr/bin/env python3
"""What each shape of the events table costs the server per row written, counted rather than timed.

Issue 12's writer cost on a shared 2-core machine: rows/s and even server CPU seconds moved by more than the
difference being measured. This counts instead: the instructions one PostgreSQL backend executes inside
CopyFrom (valgrind's callgrind, collecting only inside that function) and the WAL bytes the COPY writes, for
the same N rows (binary COPY, the rows the PipelineBench workload writes: time-ordered ids, ~110 bytes of
JSON) into each table variant. Neither count depends on the machine's load. `postgres --single`, so one
process does all the work (no network, no client). It is the server's part of (d)'s COPY only: the harness's
end-to-end ratios also include the protocol, the commit and the client.

    python3 bench/copy-instructions/copy_instructions.py [--rows 100000] [--preload 0] [--variants seed,full,...]

Without --variants it counts issue 13's variants (seed, full, each single change to full, the candidate
layouts, the payload types); issue 12's (pre12, cache1, cache1000, ...) are still there by name. seed and full
always run first: the table gives each variant's ratio to both. Every variant gets the same rows in its own
types: seed (event_bus_postgres) bigint times in unix microseconds and the JSON's bytes as bytea; json and bytea
the same bytes; jsonb the same text (after its version byte). The "nulltx" variants set transaction_id on one
row in 100 (the workload sets it on every row).

--preload N copies N rows into each table first (not counted, without valgrind), so that the counted COPY
meets indexes of a realistic size: PostgreSQL inserts into the rightmost leaf of a B-tree without a descent
from the root (its fast path) only once the tree has height 2, for an ascending timestamp index after some
100,000-200,000 rows. The table shows each B-tree's level before the counted COPY (2 = the fast path can
apply; the topic index stays at 1, all its rows having one value).

Needs valgrind and the PostgreSQL 15 server binaries (/usr/lib/postgresql/15/bin, or PGBIN); run as root
(the cluster runs as the `postgres` OS user) or as a non-root user. About 2-3 minutes per variant at 100,000 rows.
"""
import argparse, os, pwd, re, shutil, subprocess, sys, tempfile

COLS = "id, transaction_id, topic, data, initialized_at, occurred_at, source, ttl, expires_at"
SEED_COLS = "id, transaction_id, topic, data, initialized_at, occurred_at, source, ttl"
TABLE = ("CREATE TABLE t (id uuid PRIMARY KEY, transaction_id uuid NULL, topic text NOT NULL, data {data} NOT NULL, "
         "initialized_at timestamptz NULL, occurred_at timestamptz NULL, source text NULL, ttl interval NULL, "
         "expires_at timestamptz NULL{extra})")
# The four secondary indexes of the table before issue 12 (PreIssue12Table.cs, docs/schema.sql).
INDEXES = ["CREATE INDEX ON t (occurred_at DESC)", "CREATE INDEX ON t (topic)",
           "CREATE INDEX ON t (transaction_id)", "CREATE INDEX ON t (expires_at)"]
TX = ", tx xid8 NOT NULL DEFAULT pg_current_xact_id()"
POSITION = ", position bigint NULL DEFAULT nextval('t_seq'::regclass)"

# How each kind of table is fed: the columns the COPY names and, per column, the expression over src that makes
# its binary COPY field. The payload is the same compact JSON text for every kind (as JsonEventSerializer writes
# it); jsonb's binary input is a version byte (1) and that text, json's and bytea's the text's bytes alone.
TOPIC_VALUE, SOURCE_VALUE = "'orders.placed'", "'PipelineBench'"
NATIVE = ["id", "transaction_id", TOPIC_VALUE, None, "initialized_at", "occurred_at", SOURCE_VALUE, "NULL::interval", "expires_at"]
JSONB_DATA = "'\\x01'::bytea || convert_to(j, 'UTF8')"
TEXT_DATA = "convert_to(j, 'UTF8')"
MICROS = "(extract(epoch FROM {0}) * 1000000)::bigint"
FEEDS = {
    "jsonb": (COLS, [JSONB_DATA if c is None else c for c in NATIVE]),
    "json": (COLS, [TEXT_DATA if c is None else c for c in NATIVE]),
    "bytea": (COLS, [TEXT_DATA if c is None else c for c in NATIVE]),
    # transaction_id set on one event in 100 only (events outside a business transaction have none).
    "jsonb-nulltx": (COLS, [JSONB_DATA if c is None else "CASE WHEN g % 100 = 0 THEN transaction_id END" if c == "transaction_id" else c
                            for c in NATIVE]),
    # event_bus_postgres: bytea data, bigint times (unix microseconds), bigint ttl, no expires_at.
    "seed": (SEED_COLS, ["id", "transaction_id", TOPIC_VALUE, TEXT_DATA, MICROS.format("initialized_at"),
                         MICROS.format("occurred_at"), SOURCE_VALUE, "NULL::bigint"]),
}
# The same with ids and transaction ids as Guid.CreateVersion7 makes them (the bus's default IdGenerator, and
# Workload.cs): ordered by the millisecond only, random within it (1,000 rows per millisecond here, as in the
# workload, whose events are 1 µs apart), so the rows do not reach the indexes in key order.
FEEDS.update({f"{feed}-v7": (cols, [{"id": "rid", "transaction_id": "rtx"}.get(e, e.replace("THEN transaction_id", "THEN rtx"))
                                    for e in exprs]) for feed, (cols, exprs) in list(FEEDS.items())})


# A UUIDv7 of millisecond 1,700,000,000,000 + g / 1000 with random bits after it.
V7 = ("(lpad(to_hex(1700000000000 + g / 1000), 12, '0') || '7' || lpad(to_hex((random() * 4095)::int), 3, '0') || "
      "to_hex(8 + (random() * 3)::int) || lpad(to_hex((random() * 4095)::int), 3, '0') || "
      "lpad(to_hex((random() * 281474976710655)::bigint), 12, '0'))::uuid")


def shape(extra, sequence=None, index=(), data="jsonb", indexes=INDEXES):
    return ([f"CREATE SEQUENCE t_seq CACHE {sequence}"] if sequence else []) + [TABLE.format(extra=extra, data=data)] + list(indexes) + list(index)


POSITION_INDEX = ("CREATE INDEX ON t (tx, position)",)

# Today's table (docs/schema.sql) and single changes to it, so that each index's cost shows on its own.
OCC_DESC, TOPIC, TXID, EXPIRES, TXPOS = (INDEXES[0], INDEXES[1], INDEXES[2], INDEXES[3], POSITION_INDEX[0])
OCC_ASC = "CREATE INDEX ON t (occurred_at)"
OCC_BRIN = "CREATE INDEX ON t USING brin (occurred_at)"
EXPIRES_BRIN = "CREATE INDEX ON t USING brin (expires_at)"
TXID_PARTIAL = "CREATE INDEX ON t (transaction_id) WHERE transaction_id IS NOT NULL"
FULL = [OCC_DESC, TOPIC, TXID, EXPIRES, TXPOS]
MINIMAL = [TXPOS, EXPIRES_BRIN]
DEFAULT_A = [TXPOS, TOPIC, TXID_PARTIAL, OCC_BRIN, EXPIRES_BRIN]
DEFAULT_B = [TXPOS, TOPIC, TXID_PARTIAL, OCC_ASC, EXPIRES_BRIN]
# What the single changes suggest: default-b without the topic index (the dearest per row after occurred_at DESC).
LEAN = [TXPOS, TXID_PARTIAL, OCC_ASC, EXPIRES_BRIN]


def table(indexes, data="jsonb"):
    return shape(TX + POSITION, 1000, data=data, indexes=indexes)


def change(old, new):
    return [new if i == old else i for i in FULL if new is not None or i != old]


SEED = ["CREATE TABLE t (id uuid PRIMARY KEY, transaction_id uuid, topic text NOT NULL, data bytea NOT NULL, "
        "initialized_at bigint, occurred_at bigint, source text, ttl bigint)",
        "CREATE INDEX ON t (occurred_at)", "CREATE INDEX ON t (topic)", "CREATE INDEX ON t (transaction_id)"]

# name: (statements, what, feed)
VARIANTS = {
    "seed": (SEED, "event_bus_postgres: bytea data, bigint times, PK + btree occurred_at, topic, transaction_id", "seed"),
    "full": (table(FULL), "today's table (docs/schema.sql): PK + btree occurred_at DESC, topic, transaction_id, expires_at, (tx, position)", "jsonb"),
    "full-occ": (table(change(OCC_DESC, None)), "full without the occurred_at index", "jsonb"),
    "full-occ-asc": (table(change(OCC_DESC, OCC_ASC)), "full with occurred_at ASC instead of DESC", "jsonb"),
    "full-occ-brin": (table(change(OCC_DESC, OCC_BRIN)), "full with occurred_at BRIN instead of the btree", "jsonb"),
    "full-exp-brin": (table(change(EXPIRES, EXPIRES_BRIN)), "full with expires_at BRIN instead of the btree", "jsonb"),
    "full-exp": (table(change(EXPIRES, None)), "full without the expires_at index", "jsonb"),
    "full-txid-partial": (table(change(TXID, TXID_PARTIAL)), "full with transaction_id btree WHERE transaction_id IS NOT NULL", "jsonb"),
    "full-topic": (table(change(TOPIC, None)), "full without the topic index", "jsonb"),
    "full-txid": (table(change(TXID, None)), "full without the transaction_id index", "jsonb"),
    "minimal": (table(MINIMAL), "PK + (tx, position) + expires_at BRIN", "jsonb"),
    "default-a": (table(DEFAULT_A), "PK + (tx, position) + topic + transaction_id partial + occurred_at BRIN + expires_at BRIN", "jsonb"),
    "default-b": (table(DEFAULT_B), "default-a with occurred_at as an ASC btree", "jsonb"),
    "lean": (table(LEAN), "PK + (tx, position) + transaction_id partial + occurred_at ASC btree + expires_at BRIN", "jsonb"),
    "lean-bytea": (table(LEAN, "bytea"), "lean with data bytea", "bytea"),
    "lean-nulltx": (table(LEAN), "lean, transaction_id set on 1 row in 100", "jsonb-nulltx"),
    "default-a-nulltx": (table(DEFAULT_A), "default-a, transaction_id set on 1 row in 100", "jsonb-nulltx"),
    "full-nulltx": (table(FULL), "full, transaction_id set on 1 row in 100", "jsonb-nulltx"),
    "full-json": (table(FULL, "json"), "full with data json", "json"),
    "full-bytea": (table(FULL, "bytea"), "full with data bytea", "bytea"),
    "default-a-json": (table(DEFAULT_A, "json"), "default-a with data json", "json"),
    "default-a-bytea": (table(DEFAULT_A, "bytea"), "default-a with data bytea", "bytea"),
    "seed-v7": (SEED, "seed, ids and transaction ids as Guid.CreateVersion7 makes them", "seed-v7"),
    "full-v7": (table(FULL), "full, the same ids", "jsonb-v7"),
    "minimal-v7": (table(MINIMAL), "minimal, the same ids", "jsonb-v7"),
    "default-a-v7": (table(DEFAULT_A), "default-a, the same ids", "jsonb-v7"),
    "lean-v7": (table(LEAN), "lean, the same ids", "jsonb-v7"),
    "default-b-v7": (table(DEFAULT_B), "default-b, the same ids", "jsonb-v7"),
    "default-a-nulltx-v7": (table(DEFAULT_A), "default-a-nulltx, the same ids", "jsonb-nulltx-v7"),
    # Issue 12's variants.
    "pre12": (shape(""), "the table before issue 12", "jsonb"),
    "cache1": (shape(TX + POSITION, 1, POSITION_INDEX), "issue 12 as first shipped: tx, position (sequence uncached), (tx, position) index", "jsonb"),
    "cache1000": (shape(TX + POSITION, 1000, POSITION_INDEX), "the same with the sequence's CACHE 1000 (= full)", "jsonb"),
    "noindex": (shape(TX + POSITION, 1000), "tx and position (CACHE 1000) without their index", "jsonb"),
    "txindex": (shape(TX + POSITION, 1000, ("CREATE INDEX ON t (tx)",)), "an index on (tx) alone instead (B-tree deduplication)", "jsonb"),
    "fillfactor100": (shape(TX + POSITION, 1000, ("CREATE INDEX ON t (tx, position) WITH (fillfactor = 100)",)), "the index with fillfactor 100", "jsonb"),
    "tx": (shape(TX), "tx only (its default), no position, no index", "jsonb"),
    "position": (shape(POSITION, 1000), "position only (CACHE 1000), no tx, no index", "jsonb"),
    "nodefaults": (shape(", tx xid8 NULL, position bigint NULL"), "both columns without defaults (NULL), no index", "jsonb"),
}
DEFAULT_RUN = [n for n in VARIANTS if n not in ("pre12", "cache1", "cache1000", "noindex", "txindex", "fillfactor100", "tx", "position", "nodefaults")]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--preload", type=int, default=0)
    parser.add_argument("--variants", default=",".join(DEFAULT_RUN))
    args = parser.parse_args()
    names = [n for n in args.variants.split(",") if n]
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        sys.exit(f"unknown variants: {', '.join(unknown)}; known: {', '.join(VARIANTS)}")
    # The ratios are to seed and full, so those two run first.
    names = ["seed", "full"] + [n for n in names if n not in ("seed", "full")]
    pgbin = os.environ.get("PGBIN", "/usr/lib/postgresql/15/bin")
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (apt-get install valgrind)")

    root = tempfile.mkdtemp(prefix="copy-instructions-")
    as_postgres = os.geteuid() == 0
    if as_postgres:
        os.chown(root, pwd.getpwnam("postgres").pw_uid, -1)

    def run(command, stdin=None):
        argv = ["su", "postgres", "-c", command] if as_postgres else ["sh", "-c", command]
        return subprocess.run(argv, input=stdin, capture_output=True, text=True)

    data = os.path.join(root, "data")
    init = run(f"{pgbin}/initdb -D {data} -U postgres -A trust -E UTF8 --locale=C --no-sync")
    if init.returncode:
        sys.exit(init.stderr)
    with open(os.path.join(data, "postgresql.conf"), "a") as conf:
        conf.write("fsync = off\nfull_page_writes = off\n")  # as the embedded cluster of the harness

    def single(statements, tool=""):
        # postgres --single: one statement per line.
        return run(f"{tool}{pgbin}/postgres --single -D {data} postgres", "\n".join(statements) + "\n")

    # The rows the PipelineBench workload writes (Workload.cs): UUIDv7 ids and transaction ids in time order, one
    # topic and source, occurred_at 1 µs apart, initialized_at 100 µs before, no ttl, expires_at 7 days on, and
    # JsonEventSerializer's compact JSON of OrderPlaced (~110 bytes). Each feed's rows go to two binary files: the
    # preload (copied in uncounted) and the counted rows.
    generate = single([
        "CREATE EXTENSION pageinspect",
        "SELECT setseed(0.13)",
        "CREATE TABLE src (g bigint, id uuid, transaction_id uuid, rid uuid, rtx uuid, j text, initialized_at timestamptz, "
        "occurred_at timestamptz, expires_at timestamptz)",
        "INSERT INTO src SELECT g, ('018f' || lpad(to_hex(g), 8, '0') || '70008' || lpad(to_hex(g), 15, '0'))::uuid, "
        "('018f' || lpad(to_hex(g), 8, '0') || '70009' || lpad(to_hex(g), 15, '0'))::uuid, "
        f"{V7}, {V7}, "
        "'{\"OrderId\":' || (1000000000 + g) || ',\"Customer\":\"customer-' || lpad((g % 100000)::text, 6, '0') || "
        "'\",\"Amount\":' || trim_scale((((g % 100000) + 1) / 100.0)::numeric(12, 2)) || ',\"Currency\":\"' || "
        "(ARRAY['EUR','USD','GBP','CHF'])[g % 4 + 1] || '\",\"Items\":' || (g % 9 + 1) || ',\"Channel\":\"' || "
        "(ARRAY['web','mobile','store','partner'])[g % 4 + 1] || '\"}', "
        "now() + g * interval '1 microsecond' - interval '100 microseconds', now() + g * interval '1 microsecond', "
        "now() + g * interval '1 microsecond' + interval '7 days' "
        f"FROM generate_series(1, {args.preload + args.rows}) g",
    ] + [f"COPY (SELECT {', '.join(exprs)} "
         f"FROM src WHERE g {op} {args.preload} ORDER BY g) TO '{os.path.join(root, f'{feed}.{part}')}' (FORMAT binary)"
         for feed, (_, exprs) in FEEDS.items() for part, op in (("preload", "<="), ("rows", ">"))])
    if generate.returncode or "ERROR" in generate.stdout + generate.stderr:
        sys.exit(generate.stdout[-2000:] + generate.stderr[-2000:])

    print(f"{args.rows:,} rows after {args.preload:,} preloaded; instructions inside CopyFrom and WAL bytes of the COPY, "
          f"per row; index and heap bytes per row of the table after it; the B-tree indexes' levels (root level, in creation "
          f"order, the primary key first) before the counted COPY\n")
    print("| variant | instructions/row | ÷ seed | ÷ full | WAL B/row | index B/row | heap B/row | B-tree levels | what |")
    print("|---|---:|---:|---:|---:|---:|---:|---|---|")
    base = {}
    for name in names:
        statements, what, feed = VARIANTS[name]
        cols = FEEDS[feed][0]
        out = os.path.join(root, f"callgrind.{name}")
        prepared = single(
            ["DROP TABLE IF EXISTS t", "DROP TABLE IF EXISTS lsn", "DROP SEQUENCE IF EXISTS t_seq"] + statements + [
                f"COPY t ({cols}) FROM '{os.path.join(root, feed + '.preload')}' (FORMAT binary)",
                "CHECKPOINT", "CREATE TABLE lsn AS SELECT pg_current_wal_insert_lsn() AS a, (SELECT string_agg("
                "(bt_metap(i.indexrelid::regclass::text)).level::text, '/' ORDER BY i.indexrelid) FROM pg_index i "
                "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am m ON m.oid = c.relam "
                "WHERE i.indrelid = 't'::regclass AND m.amname = 'btree') AS levels"])
        if prepared.returncode or "ERROR" in prepared.stdout + prepared.stderr:
            sys.exit(f"{name} failed:\n{prepared.stdout[-2000:]}\n{prepared.stderr[-2000:]}")
        result = single(
            [f"COPY t ({cols}) FROM '{os.path.join(root, feed + '.rows')}' (FORMAT binary)",
                "SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), a)::bigint AS wal, (SELECT count(*) FROM t) AS n, "
                "(SELECT sum(pg_relation_size(indexrelid))::bigint FROM pg_index WHERE indrelid = 't'::regclass) AS ix, "
                "pg_relation_size('t') AS heap, levels FROM lsn"],
            tool=f"valgrind --tool=callgrind --toggle-collect=CopyFrom --callgrind-out-file={out} ")
        ir = re.search(r"Collected : (\d+)", result.stderr)
        found = {k: re.search(k + r' = "([\d/]+)"', result.stdout) for k in ("wal", "n", "ix", "heap", "levels")}
        total = args.preload + args.rows
        if not (ir and all(found.values())) or int(found["n"].group(1)) != total:
            sys.exit(f"{name} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
        ins, wal = int(ir.group(1)) / args.rows, int(found["wal"].group(1)) / args.rows
        base.setdefault(name, ins)
        ratio = {b: f"{ins / base[b]:.3f}" if b in base else "" for b in ("seed", "full")}
        print(f"| {name} | {ins:,.0f} | {ratio['seed']} | {ratio['full']} | {wal:,.0f} | "
              f"{int(found['ix'].group(1)) / total:,.0f} | {int(found['heap'].group(1)) / total:,.0f} | {found['levels'].group(1)} | {what} |", flush=True)
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
