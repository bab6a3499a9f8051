using System.Globalization;
using RxEventBus.Postgres;

namespace RxEventBus.PipelineBench;

internal enum BenchMode
{
    Throughput,
    Memory,
    Latency,

    // Issue 12: a subscription reading a stored table against a raw ordered SELECT of the same rows.
    CatchUp,

    // Issue 12: commit → delivery in another process, with and without the writer's notifications.
    Live,

    // Issue 13: expired rows removed by DELETE (plain table) against DROP of partitions, with a writer running.
    Retention,

    // The child process of the live mode: an EventSubscription from End printing each event's id and receive time.
    Subscriber,

    // Issue 13: (d) writing N events into one fresh table of a layout; rows/s per slice, CPU and size per row.
    Sustained,

    // Issue 13: the store's queries through EventStore and EventSubscription on a table of N rows, p50/p99.
    Queries,
}

// The command line. Every knob of (d) and (c) has a flag, so tuning needs no rebuild; the defaults are the
// best configuration docs/benchmarks.md reports.
internal sealed class BenchSettings
{
    internal const string Usage = """
        dotnet run -c Release --project bench/RxEventBus.PipelineBench -- [options]

          --mode throughput|memory|latency|catchup|live|sustained|queries|retention
                                             default throughput (subscriber: the live mode's child process)
          --events N                         events per contender (throughput), events written (sustained),
                                             rows the table is filled with (queries), default 1000000
          --runs R                           runs of every contender; medians are reported, default 3
          --contenders a,a-seed,b,c,d        default a,a-seed,b,c,d (a-seed: raw COPY into the seed's table
                                             layout: data bytea, times bigint, 3 B-trees); also a-async,
                                             a-pk, bus, the replicas
                                             p-async, p-sync, p-nodb, d-pre12 ((d) into the table as it was
                                             before issue 12, without tx/position, no NOTIFY) and d-noindex
                                             ((d) into today's table without its (tx, position) index);
                                             KEY@batch=N+pool=N+buffer=N+delay=N+notify=on|off runs one under
                                             other settings (e.g. d@batch=5000+pool=2, d@notify=off);
                                             d@seqcache=N sets the position sequence's CACHE to N before
                                             the clock starts (seqcache=1: uncached, as first shipped)
          --order fixed|alternate            throughput: the contenders' order in every run, or reversed in
                                             every second run (ABBA), default fixed
          --notify on|off|both               (d): NotifyOnCommit, default on; live mode: the variants to
                                             measure, default both
          --database-url URL                 postgres://… or Host=…; default: a throwaway EmbeddedPostgres
                                             (a server on this machine: its CPU is measured too)
          --batch-size N                     (c), (d): events per batch (MaxBatchSize), default the library's (5000)
          --pool-size N                      (c), (d): writers (PoolSize), default the library's (2)
          --buffer-size N                    (c), (d): events buffered before the batcher (BufferSize), default
                                             the library's (10000)
          --batch-delay-ms N                 (c), (d): MaxBatchDelay / TriggerBatch period, default the
                                             library's (50)
          --memory-events N,M                memory mode: the event counts to compare, default 1000000,4000000
          --slow-ms N                        memory mode: sleep per COPY statement, default 20
          --rate N                           latency mode: events per second, default 1000
          --seconds N                        latency mode: how long to publish, default 30
          --latency-delay-ms N               latency and live modes: MaxBatchDelay, default 10
          --readers raw,sub                  catchup mode: the readers that take turns, default raw,sub; also
                                             raw-parse (raw + JsonElement per row), sub-typed (MapTopic),
                                             sub-bytes (payload kept as bytes), sub-none (payload not read),
                                             sub-named (a new Name per run: leads, stores checkpoints);
                                             KEY@page=N: the subscription's PageSize (default: the library's)
          --warmup-seconds N                 live mode: publishing before the measured seconds, default 2
          --layout default|full|minimal      the index layout of our table wherever a mode creates it
                                             (IndexLayout), default default
          --payload jsonb|json|bytea         the data column's type (PayloadType) of our table wherever a mode
                                             creates it; every contender writing into it sends that type
                                             (the same UTF-8 JSON bytes), d-pre12's table has it too, and
                                             throughput checks each table's column and a stored payload;
                                             default: the library's (EventTableDesign.Default)
          --slice N                          sustained mode: rows per reported slice, default 1000000
          --keep                             sustained and queries modes: leave the table in place at the end
                                             (useful with --database-url: queries --table can then read it)
          --query-runs N                     queries mode: timed runs of each query, default 200
          --query-seconds N                  queries mode: stop a query's runs after this many seconds (at
                                             least 5 runs), default 20
          --table SCHEMA.TABLE               subscriber mode (the live mode's child): the table to follow;
                                             queries mode: an existing table of N rows to query (not filled)
          --count N                          subscriber mode: exit 0 after N events
        Exits 1 when a contender's row count is not the number of events, 2 on bad arguments.
        """;

    internal static readonly string[] KnownContenders =
        ["a", "a-seed", "a-async", "a-pk", "b", "c", "d", "d-pre12", "d-noindex", "p-async", "p-sync", "p-nodb", "bus"];

    internal static readonly string[] KnownReaders = ["raw", "raw-parse", "sub", "sub-named", "sub-typed", "sub-bytes", "sub-none"];

    internal BenchMode Mode { get; private set; } = BenchMode.Throughput;

    internal int Events { get; private set; } = 1_000_000;

    internal int Runs { get; private set; } = 3;

    internal IReadOnlyList<string> Contenders { get; private set; } = ["a", "a-seed", "b", "c", "d"];

    // Issue 13: the design of our table wherever a mode creates it (and what (d)'s consumer is told it is).
    internal IndexLayout Layout { get; private set; } = IndexLayout.Default;

    // The library's default unless --payload names one: the harness assumes no particular default.
    internal PayloadType Payload { get; private set; } = EventTableDesign.Default.Payload;

    internal string PayloadName => Payload.ToString().ToLowerInvariant();

    internal EventTableDesign Design => new() { Indexes = Layout, Payload = Payload };

    internal string LayoutName => Layout.ToString().ToLowerInvariant();

    internal int Slice { get; private set; } = 1_000_000;

    internal bool Keep { get; private set; }

    internal int QueryRuns { get; private set; } = 200;

    internal int QuerySeconds { get; private set; } = 20;

    internal string? DatabaseUrl { get; private set; }

    // (c) and (d) run with the library's defaults unless told otherwise, so (d) is RxEventBus as a user gets it.
    // Before issue 13's closing run the defaults here were 10,000 / 1 / 20,000 / 50 ms (docs/benchmarks.md).
    private static readonly PostgresPersistenceOptions LibraryDefaults = new();

    internal int BatchSize { get; private set; } = LibraryDefaults.MaxBatchSize;

    internal int PoolSize { get; private set; } = LibraryDefaults.PoolSize;

    internal int BufferSize { get; private set; } = LibraryDefaults.BufferSize;

    internal int BatchDelayMs { get; private set; } = (int)LibraryDefaults.MaxBatchDelay.TotalMilliseconds;

    internal IReadOnlyList<int> MemoryEvents { get; private set; } = [1_000_000, 4_000_000];

    internal int SlowMs { get; private set; } = 20;

    internal int Rate { get; private set; } = 1_000;

    internal int Seconds { get; private set; } = 30;

    internal int LatencyDelayMs { get; private set; } = 10;

    internal bool AlternateOrder { get; private set; }

    // (d)'s NotifyOnCommit; the live mode measures each of NotifyVariants.
    internal bool Notify { get; private set; } = true;

    internal IReadOnlyList<bool> NotifyVariants { get; private set; } = [true, false];

    // (d), (d-noindex): the position sequence's CACHE, set after the consumer created the table; null: as created.
    internal int? SequenceCache { get; private set; }

    internal IReadOnlyList<string> Readers { get; private set; } = ["raw", "sub"];

    // The subscription's PageSize in the catch-up mode (EventSubscriptionOptions' default).
    internal int PageSize { get; private set; } = new EventSubscriptionOptions().PageSize;

    internal int WarmUpSeconds { get; private set; } = 2;

    internal string? SubscriberTable { get; private set; }

    internal long SubscriberCount { get; private set; }

    internal static BenchSettings Parse(string[] args)
    {
        var settings = new BenchSettings();
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            if (name is "-h" or "--help")
            {
                throw new ArgumentException("");
            }

            if (name == "--keep")
            {
                settings.Keep = true;
                continue;
            }

            if (i + 1 >= args.Length)
            {
                throw new ArgumentException($"{name} needs a value.");
            }

            var value = args[++i];
            switch (name)
            {
                case "--mode":
                    settings.Mode = Enum.TryParse<BenchMode>(value, ignoreCase: true, out var mode)
                        ? mode
                        : throw new ArgumentException($"--mode must be throughput, memory, latency, catchup, live, sustained, queries or retention, not '{value}'.");
                    break;
                case "--events": settings.Events = Positive(name, value); break;
                case "--runs": settings.Runs = Positive(name, value); break;
                case "--contenders":
                    settings.Contenders = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                    foreach (var contender in settings.Contenders)
                    {
                        var (key, overrides) = SplitContender(contender);
                        if (!KnownContenders.Contains(key))
                        {
                            throw new ArgumentException($"Unknown contender '{key}': {string.Join(", ", KnownContenders)}.");
                        }

                        _ = settings.With(overrides);
                    }

                    break;
                case "--database-url": settings.DatabaseUrl = value; break;
                case "--batch-size": settings.BatchSize = Positive(name, value); break;
                case "--pool-size": settings.PoolSize = Positive(name, value); break;
                case "--buffer-size": settings.BufferSize = Positive(name, value); break;
                case "--batch-delay-ms": settings.BatchDelayMs = Positive(name, value); break;
                case "--memory-events":
                    settings.MemoryEvents = [.. value.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(v => Positive(name, v))];
                    break;
                case "--slow-ms": settings.SlowMs = Positive(name, value); break;
                case "--rate": settings.Rate = Positive(name, value); break;
                case "--seconds": settings.Seconds = Positive(name, value); break;
                case "--latency-delay-ms": settings.LatencyDelayMs = Positive(name, value); break;
                case "--order":
                    settings.AlternateOrder = value switch
                    {
                        "fixed" => false,
                        "alternate" => true,
                        _ => throw new ArgumentException($"--order must be fixed or alternate, not '{value}'."),
                    };
                    break;
                case "--notify":
                    (settings.Notify, settings.NotifyVariants) = value switch
                    {
                        "both" => (true, new[] { true, false }),
                        _ => (OnOff(name, value), new[] { OnOff(name, value) }),
                    };
                    break;
                case "--readers":
                    settings.Readers = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                    foreach (var reader in settings.Readers)
                    {
                        var (key, overrides) = SplitContender(reader);
                        if (!KnownReaders.Contains(key))
                        {
                            throw new ArgumentException($"Unknown reader '{key}': {string.Join(", ", KnownReaders)}.");
                        }

                        _ = settings.With(overrides);
                    }

                    break;
                case "--warmup-seconds": settings.WarmUpSeconds = Positive(name, value); break;
                case "--table":
                    settings.SubscriberTable = value.Split('.') is [var schema, var table] && schema.Length > 0 && table.Length > 0
                        ? value
                        : throw new ArgumentException($"--table must be SCHEMA.TABLE, not '{value}'.");
                    break;
                case "--count": settings.SubscriberCount = Positive(name, value); break;
                case "--layout":
                    settings.Layout = value switch
                    {
                        "default" => IndexLayout.Default,
                        "full" => IndexLayout.Full,
                        "minimal" => IndexLayout.Minimal,
                        _ => throw new ArgumentException($"--layout must be default, full or minimal, not '{value}'."),
                    };
                    break;
                case "--payload":
                    settings.Payload = value switch
                    {
                        "jsonb" => PayloadType.Jsonb,
                        "json" => PayloadType.Json,
                        "bytea" => PayloadType.Bytea,
                        _ => throw new ArgumentException($"--payload must be jsonb, json or bytea, not '{value}'."),
                    };
                    break;
                case "--slice": settings.Slice = Positive(name, value); break;
                case "--query-runs": settings.QueryRuns = Positive(name, value); break;
                case "--query-seconds": settings.QuerySeconds = Positive(name, value); break;
                default: throw new ArgumentException($"Unknown option {name}.");
            }
        }

        if (settings.Mode == BenchMode.Subscriber && (settings.SubscriberTable is null || string.IsNullOrWhiteSpace(settings.DatabaseUrl)))
        {
            throw new ArgumentException("--mode subscriber needs --table and --database-url (the live mode starts it).");
        }

        return settings;
    }

    // "d@batch=5000+pool=2" → ("d", "batch=5000+pool=2"): one contender under other settings, so that several
    // configurations take turns within one invocation and share its load, instead of each getting its own.
    internal static (string Key, string Overrides) SplitContender(string contender)
    {
        var at = contender.IndexOf('@', StringComparison.Ordinal);
        return at < 0 ? (contender, "") : (contender[..at], contender[(at + 1)..]);
    }

    // A copy with batch=, pool=, buffer=, delay= (milliseconds), notify= (on/off), page= and seqcache= replaced.
    internal BenchSettings With(string overrides)
    {
        var copy = (BenchSettings)MemberwiseClone();
        foreach (var pair in overrides.Split('+', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = pair.Split('=', 2);
            var value = parts.Length == 2 ? parts[1] : "";
            switch (parts[0])
            {
                case "batch": copy.BatchSize = Positive(parts[0], value); break;
                case "pool": copy.PoolSize = Positive(parts[0], value); break;
                case "buffer": copy.BufferSize = Positive(parts[0], value); break;
                case "delay": copy.BatchDelayMs = Positive(parts[0], value); break;
                case "notify": copy.Notify = OnOff(parts[0], value); break;
                case "page": copy.PageSize = Positive(parts[0], value); break;
                case "seqcache": copy.SequenceCache = Positive(parts[0], value); break;
                default: throw new ArgumentException($"Unknown override '{parts[0]}' (batch, pool, buffer, delay, notify, page or seqcache).");
            }
        }

        return copy;
    }

    private static bool OnOff(string name, string value) => value switch
    {
        "on" or "1" or "true" => true,
        "off" or "0" or "false" => false,
        _ => throw new ArgumentException($"{name} must be on or off, not '{value}'."),
    };

    private static int Positive(string name, string value) =>
        int.TryParse(value.Replace("_", "", StringComparison.Ordinal), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0
            ? n
            : throw new ArgumentException($"{name} must be a positive whole number, not '{value}'.");
}
