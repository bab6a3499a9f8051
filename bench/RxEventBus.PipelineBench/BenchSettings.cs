using System.Globalization;

namespace RxEventBus.PipelineBench;

internal enum BenchMode
{
    Throughput,
    Memory,
    Latency,
}

// The command line. Every knob of (d) and (c) has a flag, so tuning needs no rebuild; the defaults are the
// best configuration docs/benchmarks.md reports.
internal sealed class BenchSettings
{
    internal const string Usage = """
        dotnet run -c Release --project bench/RxEventBus.PipelineBench -- [options]

          --mode throughput|memory|latency   default throughput
          --events N                         events per contender (throughput), default 1000000
          --runs R                           runs of every contender; medians are reported, default 3
          --contenders a,b,c,d               default a,b,c,d; also a-async, a-pk, bus, and the replicas
                                             p-async, p-sync, p-nodb; KEY@batch=N+pool=N+buffer=N+delay=N
                                             runs one under other settings (e.g. d@batch=5000+pool=2)
          --database-url URL                 postgres://… or Host=…; default: a throwaway EmbeddedPostgres
          --batch-size N                     (c), (d): events per batch (MaxBatchSize), default 10000
          --pool-size N                      (c), (d): writers (PoolSize), default 1
          --buffer-size N                    (c), (d): events buffered before the batcher (BufferSize), default 20000
          --batch-delay-ms N                 (c), (d): MaxBatchDelay / TriggerBatch period, default 50
          --memory-events N,M                memory mode: the event counts to compare, default 1000000,4000000
          --slow-ms N                        memory mode: sleep per COPY statement, default 20
          --rate N                           latency mode: events per second, default 1000
          --seconds N                        latency mode: how long to publish, default 30
          --latency-delay-ms N               latency mode: MaxBatchDelay, default 10
        Exits 1 when a contender's row count is not the number of events, 2 on bad arguments.
        """;

    internal static readonly string[] KnownContenders =
        ["a", "a-async", "a-pk", "b", "c", "d", "p-async", "p-sync", "p-nodb", "bus"];

    internal BenchMode Mode { get; private set; } = BenchMode.Throughput;

    internal int Events { get; private set; } = 1_000_000;

    internal int Runs { get; private set; } = 3;

    internal IReadOnlyList<string> Contenders { get; private set; } = ["a", "b", "c", "d"];

    internal string? DatabaseUrl { get; private set; }

    internal int BatchSize { get; private set; } = 10_000;

    internal int PoolSize { get; private set; } = 1;

    internal int BufferSize { get; private set; } = 20_000;

    internal int BatchDelayMs { get; private set; } = 50;

    internal IReadOnlyList<int> MemoryEvents { get; private set; } = [1_000_000, 4_000_000];

    internal int SlowMs { get; private set; } = 20;

    internal int Rate { get; private set; } = 1_000;

    internal int Seconds { get; private set; } = 30;

    internal int LatencyDelayMs { get; private set; } = 10;

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
                        : throw new ArgumentException($"--mode must be throughput, memory or latency, not '{value}'.");
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
                default: throw new ArgumentException($"Unknown option {name}.");
            }
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

    // A copy with batch=, pool=, buffer= and delay= (milliseconds) replaced.
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
                default: throw new ArgumentException($"Unknown override '{parts[0]}' (batch, pool, buffer or delay).");
            }
        }

        return copy;
    }

    private static int Positive(string name, string value) =>
        int.TryParse(value.Replace("_", "", StringComparison.Ordinal), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0
            ? n
            : throw new ArgumentException($"{name} must be a positive whole number, not '{value}'.");
}
