using System.Globalization;
using System.Text;
using System.Text.Json;
using RxEventBus.Postgres;

namespace RxEventBus.Cli;

/// <summary>
/// What a demo run did, printed at its end as text or as one JSON object (--json). <see cref="Persisted"/> is
/// counted from the table (the rows carrying the run's transaction id), not taken from the consumer's counters:
/// the summary checks the database, it does not trust the pipeline.
/// </summary>
internal sealed record DemoSummary
{
    public required long Requested { get; init; }

    /// <summary>Events the bus accepted: every one must be in the table.</summary>
    public required long Published { get; init; }

    /// <summary>Events refused to the publisher (--overflow fail): not published, so not owed to the table.</summary>
    public required long Rejected { get; init; }

    /// <summary>Rows of this run's transaction in the table.</summary>
    public required long Persisted { get; init; }

    /// <summary>Events per topic in the table since the run began (the store's count per topic).</summary>
    public required IReadOnlyList<TopicCount> Topics { get; init; }

    /// <summary>From the first publish to the end of the flush.</summary>
    public required TimeSpan Elapsed { get; init; }

    public required PersistenceStatistics Statistics { get; init; }

    /// <summary>Where the consumer ended: <see cref="ConsumerState.Stopped"/> after the flush, <see cref="ConsumerState.Faulted"/> if it failed.</summary>
    public required ConsumerState ConsumerState { get; init; }

    /// <summary>Why the consumer faulted; null when it did not.</summary>
    public string? ConsumerFault { get; init; }

    /// <summary>Accepted events the consumer could not write before it stopped (a second Ctrl+C, a timeout).</summary>
    public required int Unwritten { get; init; }

    /// <summary>Whether publishing stopped before every requested event was published: a signal, or a faulted consumer.</summary>
    public required bool Interrupted { get; init; }

    /// <summary>The exit code the signal asked for, used when the run was interrupted but lost nothing.</summary>
    public int InterruptedExitCode { get; init; } = ExitCodes.Interrupted;

    public required Guid TransactionId { get; init; }

    public required string Table { get; init; }

    /// <summary>Where the database is, without its password.</summary>
    public required string Database { get; init; }

    public required PostgresPersistenceOptions Options { get; init; }

    /// <summary>Set when --keep left the throwaway cluster running.</summary>
    public KeptCluster? Kept { get; init; }

    public bool AllPersisted => Persisted == Published;

    public double EventsPerSecond => Elapsed > TimeSpan.Zero ? Persisted / Elapsed.TotalSeconds : 0;

    public bool ConsumerFaulted => ConsumerState == ConsumerState.Faulted;

    /// <summary>0 only if every published event is in the table, the consumer did not fault and the run was not cut short.</summary>
    public int ExitCode => !AllPersisted || ConsumerFaulted ? ExitCodes.Failure : Interrupted ? InterruptedExitCode : ExitCodes.Success;

    public void WriteText(TextWriter writer)
    {
        var s = Statistics;
        var text = new StringBuilder();
        void Row(string name, string value) => text.Append("  ").Append(name.PadRight(16)).AppendLine(value);

        text.AppendLine().AppendLine(ConsumerFaulted ? "Summary (the consumer faulted)" : Interrupted ? "Summary (interrupted)" : "Summary");
        Row("published", Invariant($"{Published:N0} events (transaction {TransactionId})"));
        if (Rejected > 0)
        {
            Row("rejected", Invariant($"{Rejected:N0} events refused to the publisher (--overflow fail)"));
        }

        Row("in PostgreSQL", Invariant($"{Persisted:N0} rows of this run in {Table}"));
        Row("per topic", Topics.Count == 0
            ? "(none)"
            : string.Join(", ", Topics.Select(t => Invariant($"{t.Topic} {t.Count:N0}"))));
        Row("elapsed", Invariant($"{Elapsed.TotalSeconds:0.00} s"));
        Row("events/s", Invariant($"{EventsPerSecond:N0}"));
        Row("batches", Invariant($"{s.Batches:N0}"));
        Row("retries", Invariant($"{s.Retries:N0}"));
        Row("drops", Invariant($"{s.Dropped:N0}"));
        Row("dead letters", Invariant($"{s.DeadLettered:N0}"));
        if (Unwritten > 0)
        {
            Row("unwritten", Invariant($"{Unwritten:N0} accepted events were still in memory when the consumer stopped"));
        }

        // The first line only: a fault over the table's shape goes on to list each difference, said before the summary.
        Row("consumer", ConsumerFaulted ? $"faulted: {ConsumerFault?.Split('\n')[0]}" : State(ConsumerState));
        Row("database", Database);
        Row("settings", Invariant($"batch size {Options.MaxBatchSize:N0}, batch delay {Options.MaxBatchDelay.TotalMilliseconds:0} ms, ") +
            Invariant($"buffer {Options.BufferSize:N0}, {Options.PoolSize} writer(s), overflow {Overflow(Options.Overflow)}"));
        text.AppendLine();
        text.AppendLine(
            ConsumerFaulted ? Invariant($"FAILED: the persistence consumer faulted; {Persisted:N0} of {Published:N0} published events are in PostgreSQL.")
            : AllPersisted ? Invariant($"OK: all {Published:N0} published events are in PostgreSQL.")
            : Invariant($"FAILED: {Published - Persisted:N0} of {Published:N0} published events are not in PostgreSQL."));
        if (Interrupted)
        {
            text.AppendLine(Invariant($"Stopped early: {Published:N0} of {Requested:N0} events were published."));
        }

        if (Kept is not null)
        {
            text.AppendLine()
                .AppendLine("The throwaway PostgreSQL is still running (--keep):")
                .Append("  connection string  ").AppendLine(Kept.ConnectionString)
                .Append("  query it           rxeventbus query count --database-url ").AppendLine(Kept.Url)
                .Append("  remove it          ").AppendLine(Kept.StopCommand);
        }

        writer.Write(text.ToString());
    }

    public void WriteJson(TextWriter writer)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            var s = Statistics;
            json.WriteStartObject();
            json.WriteNumber("published", Published);
            json.WriteNumber("persisted", Persisted);
            json.WriteNumber("elapsed_seconds", Math.Round(Elapsed.TotalSeconds, 3));
            json.WriteNumber("events_per_second", Math.Round(EventsPerSecond, 1));
            json.WriteNumber("requested", Requested);
            json.WriteNumber("rejected", Rejected);
            json.WriteNumber("refused", s.Refused);
            json.WriteNumber("batches", s.Batches);
            json.WriteNumber("retries", s.Retries);
            json.WriteNumber("dropped", s.Dropped);
            json.WriteNumber("dead_lettered", s.DeadLettered);
            json.WriteNumber("unwritten", Unwritten);
            json.WriteBoolean("all_persisted", AllPersisted);
            json.WriteBoolean("interrupted", Interrupted);
            json.WriteNumber("exit_code", ExitCode);
            json.WriteString("consumer_state", State(ConsumerState));
            json.WriteString("transaction_id", TransactionId);
            json.WriteString("table", Table);
            json.WriteString("database", Database);
            json.WriteStartObject("topics");
            foreach (var topic in Topics)
            {
                json.WriteNumber(topic.Topic, topic.Count);
            }

            json.WriteEndObject();
            json.WriteStartObject("settings");
            json.WriteNumber("workers", Options.PoolSize);
            json.WriteNumber("batch_size", Options.MaxBatchSize);
            json.WriteNumber("batch_delay_ms", Options.MaxBatchDelay.TotalMilliseconds);
            json.WriteNumber("buffer_size", Options.BufferSize);
            json.WriteString("overflow", Overflow(Options.Overflow));
            json.WriteStartArray("topics");
            foreach (var pattern in Options.Topics)
            {
                json.WriteStringValue(pattern);
            }

            json.WriteEndArray();
            json.WriteEndObject();
            if (Kept is null)
            {
                json.WriteNull("kept");
            }
            else
            {
                json.WriteStartObject("kept");
                json.WriteString("url", Kept.Url);
                json.WriteString("connection_string", Kept.ConnectionString);
                json.WriteString("stop_command", Kept.StopCommand);
                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        writer.WriteLine(Encoding.UTF8.GetString(buffer.ToArray()));
    }

    // The spelling EB_PG_OVERFLOW and --overflow take.
    internal static string Overflow(OverflowPolicy policy) => policy switch
    {
        OverflowPolicy.DropOldest => "drop_oldest",
        OverflowPolicy.DropNewest => "drop_newest",
        OverflowPolicy.Fail => "fail",
        _ => "wait",
    };

    // Lower case, as every other word of the JSON; spelled out so that renaming a member cannot change the output.
    internal static string State(ConsumerState state) => state switch
    {
        ConsumerState.Created => "created",
        ConsumerState.Running => "running",
        ConsumerState.Degraded => "degraded",
        ConsumerState.Stopping => "stopping",
        ConsumerState.Stopped => "stopped",
        _ => "faulted",
    };

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

/// <summary>A throwaway cluster left running by --keep: how to reach it and how to remove it.</summary>
/// <param name="Url">For --database-url.</param>
/// <param name="ConnectionString">Npgsql form (trust authentication: no password).</param>
/// <param name="StopCommand">Stops the server and deletes its folder.</param>
internal sealed record KeptCluster(string Url, string ConnectionString, string StopCommand);
