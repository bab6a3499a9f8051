using System.Globalization;
using System.Text.Json;
using Npgsql;
using RxEventBus.Cli.Tests.Support;
using RxEventBus.Postgres;
using RxEventBus.Postgres.Tests.Support;
using RxEventBus.Tests.Common;
using Xunit.Abstractions;

namespace RxEventBus.Cli.Tests;

// rxeventbus tail in-process over rows written with plain SQL: what it prints, in which order, where a named
// subscription starts again, and that standard output holds nothing but the events.
[Collection(SharedPostgres.Name)]
public sealed class TailTests(PostgresFixture postgres, ITestOutputHelper output)
{
    [Fact]
    public Task Tail_FromBeginningWithCountAndJson_PrintsExactlyNStoredEventsInTxPositionOrder() => postgres.AttachLogOnFailureAsync(output, async () =>
    {
        var schema = await PrepareAsync("tail_count");
        await InsertAsync(schema, 30, "orders");
        await InsertAsync(schema, 30, "payments");
        await InsertAsync(schema, 30, "orders");

        var result = await TailAsync(schema, "--from", "beginning", "--count", "50", "--json");

        result.ExitCode.Should().Be(ExitCodes.Success, result.ToString());
        var printed = Lines(result);
        var rows = await RowsAsync(schema);
        printed.Should().HaveCount(50, "--count 50 exits after 50 events");
        printed.Select(static p => p.Id).Should().Equal(rows.Take(50).Select(static r => r.Id), "the first 50 rows in (tx, position) order");
        printed.Select(static p => p.Position).Should().Equal(rows.Take(50).Select(static r => r.Position), "each line's position is its row's tx:position");
        printed.Select(static p => Key(p.Position)).Should().BeInAscendingOrder().And.OnlyHaveUniqueItems("positions strictly increase");

        using var first = JsonDocument.Parse(result.Out.Split('\n')[0]);
        var line = first.RootElement;
        line.GetProperty("topic").GetString().Should().Be("orders");
        line.GetProperty("transaction_id").ValueKind.Should().Be(JsonValueKind.Null);
        line.GetProperty("source").GetString().Should().Be("sql");
        line.GetProperty("occurred_at").GetString().Should().NotBeNull("ISO 8601, from the row");
        DateTimeOffset.Parse(line.GetProperty("occurred_at").GetString()!, CultureInfo.InvariantCulture).Offset.Should().Be(TimeSpan.Zero);
        line.GetProperty("data").GetProperty("n").GetInt32().Should().Be(1, "data is the payload's JSON itself");
        result.Error.Should().Contain("rxeventbus tail:", "notices go to standard error");
    });

    [Fact]
    public Task Tail_WithoutJson_PrintsOneTabSeparatedLinePerEvent() => postgres.AttachLogOnFailureAsync(output, async () =>
    {
        var schema = await PrepareAsync("tail_text");
        await InsertAsync(schema, 3, "orders");

        var result = await TailAsync(schema, "--from", "beginning", "--count", "3");

        result.ExitCode.Should().Be(ExitCodes.Success, result.ToString());
        var rows = await RowsAsync(schema);
        var lines = result.Out.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        lines.Should().HaveCount(3);
        var fields = lines[0].Split('\t');
        fields[0].Should().Be(rows[0].Position);
        fields[1].Should().Be(rows[0].Id.ToString());
        fields[3].Should().Be("orders");
        fields[^1].Should().Be("{\"n\": 1}");
    });

    [Fact]
    public Task Tail_SameSubscriptionTwice_TheSecondRunStartsAfterWhatTheFirstAcknowledged() => postgres.AttachLogOnFailureAsync(output, async () =>
    {
        var schema = await PrepareAsync("tail_resume");
        await InsertAsync(schema, 25, "orders");
        await InsertAsync(schema, 25, "orders");

        var first = await TailAsync(schema, "--subscription", "billing", "--from", "beginning", "--count", "20", "--json");
        var second = await TailAsync(schema, "--subscription", "billing", "--count", "20", "--json");
        var third = await TailAsync(schema, "--subscription", "other", "--from", "beginning", "--count", "5", "--json");

        first.ExitCode.Should().Be(ExitCodes.Success, first.ToString());
        second.ExitCode.Should().Be(ExitCodes.Success, second.ToString());
        var rows = await RowsAsync(schema);
        Lines(first).Select(static p => p.Id).Should().Equal(rows.Take(20).Select(static r => r.Id));
        Lines(second).Select(static p => p.Id).Should().Equal(rows.Skip(20).Take(20).Select(static r => r.Id),
            "the stored checkpoint wins over --from (default end): the second run goes on right after the first's 20th event");
        Lines(third).Select(static p => p.Id).Should().Equal(rows.Take(5).Select(static r => r.Id), "each name has its own checkpoint");
        (await CheckpointAsync(schema, "billing")).Should().Be(rows[39].Position, "the checkpoint covers every event printed, the last one too");
    });

    [Fact]
    public Task Tail_Topics_PrintsOnlyTheMatchingTopics() => postgres.AttachLogOnFailureAsync(output, async () =>
    {
        var schema = await PrepareAsync("tail_topics");
        await InsertAsync(schema, 10, "orders");
        await InsertAsync(schema, 10, "orders_archive");
        await InsertAsync(schema, 10, "payments");
        await InsertAsync(schema, 10, "refund_orders");

        var result = await TailAsync(schema, "--from", "beginning", "--topics", "orders$;pay", "--count", "20", "--json");

        result.ExitCode.Should().Be(ExitCodes.Success, result.ToString());
        Lines(result).Select(static p => p.Topic).Distinct().Should().Equal(["orders", "payments"],
            "each regex is anchored at the start of the topic name, as on the bus");
    });

    [Fact]
    public Task Tail_FromEnd_PrintsOnlyEventsCommittedAfterItStarted() => postgres.AttachLogOnFailureAsync(output, async () =>
    {
        var schema = await PrepareAsync("tail_end");
        await InsertAsync(schema, 10, "old");
        var inserted = 0;

        // Rows are written once the tail says it is live, from the notices' own thread: the tail is then waiting.
        var result = await InProcess.RunAsync(
            new Dictionary<string, string?>(),
            new StopSignal(),
            line =>
            {
                if (line.Contains("Live", StringComparison.Ordinal) && Interlocked.Exchange(ref inserted, 1) == 0)
                {
                    InsertAsync(schema, 5, "new").GetAwaiter().GetResult();
                }
            },
            ["tail", "--count", "5", "--json", .. Where(schema)]);

        result.ExitCode.Should().Be(ExitCodes.Success, result.ToString());
        Lines(result).Select(static p => p.Topic).Should().Equal(Enumerable.Repeat("new", 5), "--from end (the default) skips what was stored before");
        result.Error.Should().Contain("starts at the end", "the notices say where a tail without a checkpoint starts");
    });

    [Fact]
    public Task Tail_StoppedByASignal_StoresTheCheckpointAndExits0() => postgres.AttachLogOnFailureAsync(output, async () =>
    {
        var schema = await PrepareAsync("tail_stop");
        await InsertAsync(schema, 40, "orders");

        var result = await RunUntilLiveThenTerminatedAsync(["tail", "--subscription", "ops", "--from", "beginning", "--json", .. Where(schema)]);

        result.ExitCode.Should().Be(ExitCodes.Success, "following until stopped is a tail's normal end: {0}", result);
        var rows = await RowsAsync(schema);
        Lines(result).Should().HaveCount(40);
        var checkpoint = await CheckpointAsync(schema, "ops");
        checkpoint.Should().NotBeNull("the checkpoint is stored on the way out");
        Key(checkpoint!).Should().BeGreaterThanOrEqualTo(Key(rows[^1].Position),
            "it covers every event printed (a caught-up subscription may store the end of what it read, past the last row)");
    });

    [Fact]
    public Task Tail_CountCutShortByASignal_ExitsWithTheSignalsCode() => postgres.AttachLogOnFailureAsync(output, async () =>
    {
        var schema = await PrepareAsync("tail_cut");
        await InsertAsync(schema, 10, "orders");

        var result = await RunUntilLiveThenTerminatedAsync(["tail", "--from", "beginning", "--count", "100", "--json", .. Where(schema)]);

        result.ExitCode.Should().Be(ExitCodes.Terminated, "the 100 events asked for were not printed: {0}", result);
        Lines(result).Should().HaveCount(10);
    });

    [Fact]
    public Task Tail_TableMissing_ExitsWith1SayingSo() => postgres.AttachLogOnFailureAsync(output, async () =>
    {
        var schema = await postgres.CreateSchemaAsync("tail_missing");

        var result = await TailAsync(schema, "--from", "beginning", "--count", "1");

        result.ExitCode.Should().Be(ExitCodes.Failure, result.ToString());
        result.Out.Should().BeEmpty();
        result.Error.Should().Contain("rxeventbus tail: relation").And.Contain("does not exist: the events table, or the subscriptions table beside it, is not there");
    });

    [Fact]
    public Task Tail_TableWithoutPositions_ExitsWith1SayingHowToAddThem() => postgres.AttachLogOnFailureAsync(output, async () =>
    {
        var schema = await postgres.CreateSchemaAsync("tail_old");
        await Sql.ExecuteAsync(postgres.ConnectionString, $"CREATE TABLE \"{schema}\".events (id uuid PRIMARY KEY, topic text NOT NULL, data bytea NOT NULL)");

        var result = await TailAsync(schema, "--from", "beginning", "--count", "1");

        result.ExitCode.Should().Be(ExitCodes.Failure, result.ToString());
        result.Out.Should().BeEmpty();
        result.Error.Should().Contain("has no position to read it by").And.Contain("EB_PG_ENSURE_SCHEMA");
    });

    private string[] Where(string schema) => ["--database-url", postgres.ConnectionString, "--schema", schema];

    private async Task<CliResult> TailAsync(string schema, params string[] args)
    {
        var result = await InProcess.RunAsync(["tail", .. args, .. Where(schema)]);
        output.WriteLine(result.ToString());
        return result;
    }

    private async Task<string> PrepareAsync(string name)
    {
        var schema = await postgres.CreateSchemaAsync(name);
        await SchemaManager.EnsureSchemaAsync(postgres.DataSource, new EventTable(schema, "events"));
        return schema;
    }

    // One transaction of plain INSERTs: tx and position come from the columns' defaults.
    private Task InsertAsync(string schema, int count, string topic) => Sql.ExecuteAsync(
        postgres.ConnectionString,
        $"INSERT INTO \"{schema}\".events (id, topic, data, occurred_at, source) " +
        $"SELECT gen_random_uuid(), '{topic}', convert_to(jsonb_build_object('n', n)::text, 'UTF8'), now(), 'sql' FROM generate_series(1, {count}) AS n");

    private async Task<IReadOnlyList<(Guid Id, string Position)>> RowsAsync(string schema)
    {
        await using var connection = new NpgsqlConnection(postgres.ConnectionString);
        await connection.OpenAsync();
        await using var select = new NpgsqlCommand($"SELECT id, tx::text || ':' || position FROM \"{schema}\".events ORDER BY tx, position", connection);
        await using var reader = await select.ExecuteReaderAsync();
        var rows = new List<(Guid, string)>();
        while (await reader.ReadAsync())
        {
            rows.Add((reader.GetGuid(0), reader.GetString(1)));
        }

        return rows;
    }

    private async Task<string?> CheckpointAsync(string schema, string name)
    {
        await using var connection = new NpgsqlConnection(postgres.ConnectionString);
        await connection.OpenAsync();
        await using var select = new NpgsqlCommand(
            $"SELECT tx::text || ':' || position FROM {new EventTable(schema, "events").SubscriptionsQualifiedName} WHERE name = @name", connection);
        select.Parameters.AddWithValue("name", name);
        return (string?)await select.ExecuteScalarAsync();
    }

    // Every line of standard output must be one JSON event: nothing else goes there.
    private static List<(Guid Id, string Topic, string Position)> Lines(CliResult result) =>
        [.. result.Out.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries).Select(static line =>
        {
            using var json = JsonDocument.Parse(line);
            var root = json.RootElement;
            return (root.GetProperty("id").GetGuid(), root.GetProperty("topic").GetString()!, root.GetProperty("position").GetString()!);
        })];

    private static (ulong, long) Key(string position)
    {
        var parts = position.Split(':');
        return (ulong.Parse(parts[0], CultureInfo.InvariantCulture), long.Parse(parts[1], CultureInfo.InvariantCulture));
    }

    // Runs tail in-process and sends it SIGTERM's stop once it says it is live (caught up).
    private static async Task<CliResult> RunUntilLiveThenTerminatedAsync(string[] args)
    {
        using var stop = new StopSignal();
        return await InProcess.RunAsync(
            new Dictionary<string, string?>(),
            stop,
            line =>
            {
                if (line.Contains("Live", StringComparison.Ordinal))
                {
                    stop.Request(ExitCodes.Terminated);
                }
            },
            args);
    }
}
