using System.CommandLine;
using RxEventBus.Postgres;

namespace RxEventBus.Cli;

/// <summary>
/// A flag that sets one <c>EB_PG_*</c> variable. Its value is read as text and handed to
/// <c>PostgresPersistenceOptions.FromVariables</c> in the variable's place, so a flag is checked by the same
/// rules, with the same messages, as the variable it mirrors.
/// </summary>
internal sealed class PersistenceFlag
{
    public PersistenceFlag(string name, string variable, string helpName, string description, params string[] hides)
    {
        Variable = variable;
        Hides = hides;
        Option = new Option<string>(name)
        {
            HelpName = helpName,
            Description = $"{description} [env: {variable}]",
        };
        Option.Validators.Add(result =>
        {
            if (result.Tokens.Count == 1 && string.IsNullOrWhiteSpace(result.Tokens[0].Value))
            {
                result.AddError($"{name} needs a value; leave the flag out to use {variable} or the default.");
            }
        });
    }

    /// <summary>The command-line option, e.g. <c>--workers</c>.</summary>
    public Option<string> Option { get; }

    /// <summary>The flag as typed, e.g. <c>--workers</c>.</summary>
    public string Name => Option.Name;

    /// <summary>The variable it sets, e.g. <c>EB_PG_POOL_SIZE</c>.</summary>
    public string Variable { get; }

    /// <summary>Other names of the same setting, ignored when the flag is given (EB_PG_MAX_DEMAND for --batch-size).</summary>
    public IReadOnlyList<string> Hides { get; }
}

/// <summary>The flags of the persistence settings, as the commands offer them.</summary>
internal sealed class PersistenceFlags
{
    private PersistenceFlags(IReadOnlyList<PersistenceFlag> all, PersistenceFlag databaseUrl)
    {
        All = all;
        DatabaseUrl = databaseUrl;
    }

    public PersistenceFlag DatabaseUrl { get; }

    public IReadOnlyList<PersistenceFlag> All { get; }

    /// <summary>Where the database is, and which table: what every command needs.</summary>
    public static PersistenceFlags ForQuery()
    {
        var databaseUrl = DatabaseUrlFlag("The database: postgres://user:password@host:port/database or an Npgsql connection string. Required.");
        return new([databaseUrl, SchemaFlag(), TableFlag()], databaseUrl);
    }

    /// <summary>Every setting that shapes the demo's pipeline; <paramref name="defaults"/> is shown in the help.</summary>
    public static PersistenceFlags ForDemo(IReadOnlyDictionary<string, string> defaults)
    {
        string Default(string variable, string library) =>
            defaults.TryGetValue(variable, out var value) ? $"Demo default: {value} (the library's: {library})." : $"Default: {library}.";

        var databaseUrl = DatabaseUrlFlag(
            "The database: postgres://user:password@host:port/database or an Npgsql connection string. The schema and " +
            "table are created if missing. Default: a throwaway local PostgreSQL, removed at the end.");
        return new(
            [
                databaseUrl,
                new("--workers", "EB_PG_POOL_SIZE", "N", $"Batch writers running at once (pool size). {Default("EB_PG_POOL_SIZE", Text(Library.PoolSize))}"),
                new("--batch-size", "EB_PG_BATCH_SIZE", "N", $"Most events in one COPY batch. {Default("EB_PG_BATCH_SIZE", Text(Library.MaxBatchSize))}", "EB_PG_MAX_DEMAND"),
                new("--batch-delay-ms", "EB_PG_BATCH_DELAY_IN_MS", "MS", $"Oldest an event may get in an unfilled batch before it is written. {Default("EB_PG_BATCH_DELAY_IN_MS", Text((long)Library.MaxBatchDelay.TotalMilliseconds))}"),
                new("--buffer-size", "EB_PG_BUFFER_SIZE", "N", $"Events held between the bus and the batcher. {Default("EB_PG_BUFFER_SIZE", Text(Library.BufferSize))}"),
                new("--overflow", "EB_PG_OVERFLOW", "POLICY", $"When the buffer is full: wait, drop_oldest, drop_newest or fail. {Default("EB_PG_OVERFLOW", SnakeCase(Library.Overflow))}"),
                new("--topics", "EB_PG_TOPICS", "REGEXES", $"Regexes of the topics to persist, separated by ';'. {Default("EB_PG_TOPICS", string.Join(';', Library.Topics))}"),
                SchemaFlag(),
                TableFlag(),
            ],
            databaseUrl);
    }

    // The library's defaults in the help are read from the options themselves, so the help cannot go stale.
    private static readonly PostgresPersistenceOptions Library = new();

    private static string Text(long value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    // OverflowPolicy.DropOldest is written drop_oldest, as EB_PG_OVERFLOW spells it.
    private static string SnakeCase(OverflowPolicy policy) =>
        string.Concat(policy.ToString().Select((c, i) => char.IsUpper(c) ? (i == 0 ? "" : "_") + char.ToLowerInvariant(c) : c.ToString()));

    public void AddTo(Command command)
    {
        foreach (var flag in All)
        {
            command.Add(flag.Option);
        }
    }

    private static PersistenceFlag DatabaseUrlFlag(string description) =>
        new("--database-url", "EB_PG_DATABASE_URL", "URL", description);

    private static PersistenceFlag SchemaFlag() =>
        new("--schema", "EB_PG_SCHEMA", "NAME", "Schema of the events table. Default: public.");

    private static PersistenceFlag TableFlag() =>
        new("--table", "EB_PG_TABLE", "NAME", "Name of the events table. Default: events.");
}
