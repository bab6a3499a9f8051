#!/usr/bin/env python3
"""What each shape of the events table costs the server per row written, counted rather than timed.

Issue 12's writer cost on a shared 2-core machine: rows/s and even server CPU seconds moved by more than the
difference being measured. This counts instead: the instructions one PostgreSQL backend executes inside
CopyFrom (valgrind's callgrind, collecting only inside that function) and the WAL bytes the COPY writes, for
the same N rows (binary COPY, the rows the PipelineBench workload writes: time-ordered ids, ~110 bytes of
JSON) into each table variant. Neither count depends on the machine's load. `postgres --single`, so one
process does all the work (no network, no client). It is the server's part of (d)'s COPY only: the harness's
end-to-end ratios also include the protocol, the commit and the client.

    python3 bench/copy-instructions/copy_instructions.py [--rows 100000] [--preload 0] [--variants pre12,cache1,...]

--preload N writes N rows into each table first (a plain INSERT, not counted, without valgrind), so that the
counted COPY meets indexes of a realistic size: PostgreSQL inserts into the rightmost leaf of a B-tree without a
descent from the root (its fast path) only once the tree has height 2, here after some 80,000 rows.

Needs valgrind and the PostgreSQL 15 server binaries (/usr/lib/postgresql/15/bin, or PGBIN); run as root
(the cluster runs as the `postgres` OS user) or as a non-root user. About 2-3 minutes per variant at 100,000 rows.
"""
import argparse, os, pwd, re, shutil, subprocess, sys, tempfile

COLS = "id, transaction_id, topic, data, initialized_at, occurred_at, source, ttl, expires_at"
TABLE = ("CREATE TABLE t (id uuid PRIMARY KEY, transaction_id uuid NULL, topic text NOT NULL, data jsonb NOT NULL, "
         "initialized_at timestamptz NULL, occurred_at timestamptz NULL, source text NULL, ttl interval NULL, "
         "expires_at timestamptz NULL{extra})")
# The four secondary indexes of the table before issue 12 (PreIssue12Table.cs, docs/schema.sql).
INDEXES = ["CREATE INDEX ON t (occurred_at DESC)", "CREATE INDEX ON t (topic)",
           "CREATE INDEX ON t (transaction_id)", "CREATE INDEX ON t (expires_at)"]
TX = ", tx xid8 NOT NULL DEFAULT pg_current_xact_id()"
POSITION = ", position bigint NULL DEFAULT nextval('t_seq'::regclass)"


def shape(extra, sequence=None, index=()):
    return ([f"CREATE SEQUENCE t_seq CACHE {sequence}"] if sequence else []) + [TABLE.format(extra=extra)] + INDEXES + list(index)


POSITION_INDEX = ("CREATE INDEX ON t (tx, position)",)
VARIANTS = {
    "pre12": (shape(""), "the table before issue 12"),
    "cache1": (shape(TX + POSITION, 1, POSITION_INDEX), "issue 12 as first shipped: tx, position (sequence uncached), (tx, position) index"),
    "cache1000": (shape(TX + POSITION, 1000, POSITION_INDEX), "the same with the sequence's CACHE 1000"),
    "noindex": (shape(TX + POSITION, 1000), "tx and position (CACHE 1000) without their index"),
    "txindex": (shape(TX + POSITION, 1000, ("CREATE INDEX ON t (tx)",)), "an index on (tx) alone instead (B-tree deduplication)"),
    "fillfactor100": (shape(TX + POSITION, 1000, ("CREATE INDEX ON t (tx, position) WITH (fillfactor = 100)",)), "the index with fillfactor 100"),
    "tx": (shape(TX), "tx only (its default), no position, no index"),
    "position": (shape(POSITION, 1000), "position only (CACHE 1000), no tx, no index"),
    "nodefaults": (shape(", tx xid8 NULL, position bigint NULL"), "both columns without defaults (NULL), no index"),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--preload", type=int, default=0)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    args = parser.parse_args()
    names = args.variants.split(",")
    if names[0] != "pre12":
        names.insert(0, "pre12")
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

    rows = os.path.join(root, "rows.bin")
    generate = single([
        "CREATE TABLE src (id uuid, transaction_id uuid, topic text, data jsonb, initialized_at timestamptz, "
        "occurred_at timestamptz, source text, ttl interval, expires_at timestamptz)",
        "INSERT INTO src SELECT ('018f' || lpad(to_hex(g), 8, '0') || '70008' || lpad(to_hex(g), 15, '0'))::uuid, "
        "('018f' || lpad(to_hex(g), 8, '0') || '70009' || lpad(to_hex(g), 15, '0'))::uuid, 'orders.placed', "
        "jsonb_build_object('OrderId', 1000000000 + g, 'Customer', 'customer-' || lpad((g % 100000)::text, 6, '0'), "
        "'Amount', ((g % 100000) + 1) / 100.0, 'Currency', (ARRAY['EUR','USD','GBP','CHF'])[g % 4 + 1], 'Items', g % 9 + 1, "
        "'Channel', (ARRAY['web','mobile','store','partner'])[g % 4 + 1]), now() + g * interval '1 microsecond' - interval '100 microseconds', "
        "now() + g * interval '1 microsecond', 'PipelineBench', NULL, now() + g * interval '1 microsecond' + interval '7 days' "
        f"FROM generate_series(1, {args.preload + args.rows}) g",
        f"COPY (SELECT * FROM src ORDER BY id OFFSET {args.preload}) TO '{rows}' (FORMAT binary)",
    ])
    if generate.returncode or not os.path.exists(rows):
        sys.exit(generate.stdout[-2000:] + generate.stderr[-2000:])

    print(f"{args.rows:,} rows after {args.preload:,} preloaded; instructions inside CopyFrom and WAL bytes of the COPY, per row\n")
    print("| variant | instructions/row | ÷ pre12 | WAL B/row | ÷ pre12 | what |")
    print("|---|---:|---:|---:|---:|---|")
    base = None
    for name in names:
        statements, what = VARIANTS[name]
        out = os.path.join(root, f"callgrind.{name}")
        prepared = single(
            ["DROP TABLE IF EXISTS t", "DROP TABLE IF EXISTS lsn", "DROP SEQUENCE IF EXISTS t_seq"] + statements + [
                f"INSERT INTO t ({COLS}) SELECT * FROM src ORDER BY id LIMIT {args.preload}",
                "CHECKPOINT", "CREATE TABLE lsn AS SELECT pg_current_wal_insert_lsn() AS a"])
        if prepared.returncode or "ERROR" in prepared.stdout + prepared.stderr:
            sys.exit(f"{name} failed:\n{prepared.stdout[-2000:]}\n{prepared.stderr[-2000:]}")
        result = single(
            [f"COPY t ({COLS}) FROM '{rows}' (FORMAT binary)",
                "SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), a)::bigint AS wal, (SELECT count(*) FROM t) AS n FROM lsn"],
            tool=f"valgrind --tool=callgrind --toggle-collect=CopyFrom --callgrind-out-file={out} ")
        ir = re.search(r"Collected : (\d+)", result.stderr)
        wal = re.search(r'wal = "(\d+)"', result.stdout)
        n = re.search(r'n = "(\d+)"', result.stdout)
        if not (ir and wal and n) or int(n.group(1)) != args.preload + args.rows:
            sys.exit(f"{name} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
        per_row = (int(ir.group(1)) / args.rows, int(wal.group(1)) / args.rows)
        base = base or per_row
        print(f"| {name} | {per_row[0]:,.0f} | {per_row[0] / base[0]:.3f} | {per_row[1]:,.0f} | {per_row[1] / base[1]:.3f} | {what} |", flush=True)
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
