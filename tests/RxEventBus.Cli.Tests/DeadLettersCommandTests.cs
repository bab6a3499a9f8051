using System.Globalization;
using System.Text.Json;
using RxEventBus.Cli.Tests.Support;
using RxEventBus.Postgres;
using RxEventBus.Postgres.Tests.Support;
using RxEventBus.Tests.Common;
using Xunit.Abstractions;

namespace RxEventBus.Cli.Tests;

// rxeventbus dead-letters against a real PostgreSQL. Each test has a table of its own in the class's schema,
// made as the consumer makes it; the dead letters are rows written with SQL as the consumer writes them, and
// the events table refuses the ones carrying {"Number": 13} while its CHECK constraint is there.
[Collection(SharedPostgres.Name)]
public sealed class DeadLettersCommandTests(PostgresFixture postgres, ITestOutputHelper output) : IAsyncLifetime
{
    private const string Refused = """{"Number": 13}""";
    private const string Accepted = """{"Number": 7}""";

    private static readonly DateTimeOffset Noon = new(2025, 1, 31, 12, 0, 0, TimeSpan.Zero);

    private string _schema = "";

    public async Task InitializeAsync() => _schema = await postgres.CreateSchemaAsync(nameof(DeadLettersCommandTests));

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public Task List_Text_PrintsOneLinePerDeadLetterNewestFirstAndTheTotalOnStderr() => Attach(async () =>
    {
        var table = await CreateTableAsync("list_text");
        var (older, newer, newest) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        await InsertAsync(table, older, Refused, Noon, reason: "PostgreSQL refused its row (23514: new row violates check constraint \"refused\")");
        await InsertAsync(table, newest, Refused, Noon.AddSeconds(2), topic: "refunds", attempts: 3);
        await InsertAsync(table, newer, null, Noon.AddSeconds(1), reason: "first line\nsecond\tline", errorType: "System.Text.Json.JsonException");

        var result = await DeadLetters(table, "list");

        result.ExitCode.Should().Be(ExitCodes.Success, result.ToString());
        var lines = result.Out.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        lines.Should().HaveCount(3, "one line per dead letter, even when its reason has a line break");
        lines.Select(line => line.Split('\t')[0]).Should().Equal([newest.ToString(), newer.ToString(), older.ToString()], "the most recently failed come first");
        lines[0].Split('\t').Should().Equal(
            [newest.ToString(), "2025-01-31T12:00:02.0000000+00:00", "refunds", "3", "23514", "PostgreSQL refused its row (23514)"],
            "id, last failure, topic, attempts, error type, reason");
        lines[1].Split('\t')[5].Should().Be("first line second line", "a tab or a line break in a reason would break the line format");
        result.Error.Should().Be("3 dead letters" + Environment.NewLine, "the total goes to stderr, so stdout stays one line per dead letter");
    });

    [Fact]
    public Task List_JsonWithFlagsBeforeTheSubcommand_PrintsTheCountAndEachPayloadAsJson() => Attach(async () =>
    {
        var table = await CreateTableAsync("list_json");
        var (withData, withoutData) = (Guid.NewGuid(), Guid.NewGuid());
        await InsertAsync(table, withData, Refused, Noon.AddSeconds(1));
        await InsertAsync(table, withoutData, null, Noon, errorType: "System.Text.Json.JsonException");

        var result = await InProcess.RunAsync("dead-letters", "--json", "--database-url", postgres.ConnectionString, "--schema", _schema, "--table", table, "list");

        result.ExitCode.Should().Be(ExitCodes.Success, result.ToString());
        using var json = JsonDocument.Parse(result.Out);   // throws if stdout holds anything but the one object
        json.RootElement.GetProperty("count").GetInt64().Should().Be(2);
        var letters = json.RootElement.GetProperty("dead_letters").EnumerateArray().ToList();
        letters.Select(l => l.GetProperty("id").GetGuid()).Should().Equal([withData, withoutData]);
        var first = letters[0];
        first.GetProperty("data").GetProperty("Number").GetInt32().Should().Be(13, "the payload is the JSON itself, not a string holding it");
        first.GetProperty("topic").GetString().Should().Be("orders");
        first.GetProperty("transaction_id").GetString().Should().NotBeNullOrEmpty();
        first.GetProperty("data_type").GetString().Should().Be("Order");
        first.GetProperty("occurred_at").GetString().Should().Be("2025-01-31T11:00:01.0000000+00:00");
        first.GetProperty("source").GetString().Should().Be("shop");
        first.GetProperty("reason").GetString().Should().Contain("refused");
        first.GetProperty("error_type").GetString().Should().Be("23514");
        first.GetProperty("attempts").GetInt32().Should().Be(1);
        first.GetProperty("ttl_seconds").GetDouble().Should().Be(300);
        first.GetProperty("first_failed_at").GetString().Should().Be("2025-01-31T12:00:01.0000000+00:00");
        first.GetProperty("last_failed_at").GetString().Should().Be("2025-01-31T12:00:01.0000000+00:00");
        letters[1].GetProperty("data").ValueKind.Should().Be(JsonValueKind.Null, "a payload that could not be serialized has no JSON");
    });

    [Fact]
    public Task List_TopicAndPage_ShowsThatPageOfThatTopic() => Attach(async () =>
    {
        var table = await CreateTableAsync("list_page");
        var orders = Enumerable.Range(0, 3).Select(_ => Guid.NewGuid()).ToList();
        for (var i = 0; i < orders.Count; i++)
        {
            await InsertAsync(table, orders[i], Refused, Noon.AddSeconds(i));
        }

        await InsertAsync(table, Guid.NewGuid(), Refused, Noon.AddSeconds(10), topic: "refunds");

        var result = await DeadLetters(table, "list", "--topic", "orders", "--per-page", "2", "--page", "2");

        result.ExitCode.Should().Be(ExitCodes.Success, result.ToString());
        result.Out.Should().StartWith(orders[0].ToString(), "page 2 of the orders holds the oldest one alone").And.NotContain("refunds");
        result.Error.Should().Contain("3 dead letters of topic orders (page 2 of 2, 2 a page)");
    });

    [Fact]
    public Task Replay_TableStillRefusesTheRow_SaysFailedAgainWithTheReasonAndExitsWith1() => Attach(async () =>
    {
        var table = await CreateTableAsync("replay_again", refuse13: true);
        var id = Guid.NewGuid();
        await InsertAsync(table, id, Refused, Noon);

        var result = await DeadLetters(table, "replay", id.ToString());

        result.ExitCode.Should().Be(ExitCodes.Failure, result.ToString());
        var fields = result.Out.TrimEnd().Split('\t');
        fields[..2].Should().Equal([id.ToString(), "failed_again"]);
        fields[2].Should().Contain("23514", "the line says why it failed again");
        result.Error.Should().Contain("0 replayed").And.Contain("1 failed again");
        (await ScalarAsync<int>($"select attempts from {_schema}.{table}_dead_letters where id = '{id}'"))
            .Should().Be(2, "the dead letter stays, with one more attempt");
        (await ScalarAsync<long>($"select count(*) from {_schema}.{table}")).Should().Be(0);
    });

    [Fact]
    public Task Replay_CauseFixed_WritesTheEventsWithTheDefaultTtlAndExitsWith0() => Attach(async () =>
    {
        var table = await CreateTableAsync("replay_fixed", refuse13: true);
        var (first, second, other) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        await InsertAsync(table, first, Refused, Noon, ttlSeconds: null);
        await InsertAsync(table, second, Refused, Noon.AddSeconds(1));
        await InsertAsync(table, other, Refused, Noon.AddSeconds(2));
        await ExecuteAsync($"alter table {_schema}.{table} drop constraint refused");

        var result = await InProcess.RunAsync(
            new Dictionary<string, string?> { ["EB_PG_DEFAULT_TTL_IN_MS"] = "60000" },
            "dead-letters", "replay", first.ToString(), second.ToString(), "--database-url", postgres.ConnectionString, "--schema", _schema, "--table", table);

        output.WriteLine(result.ToString());
        result.ExitCode.Should().Be(ExitCodes.Success, result.ToString());
        result.Out.Should().Be($"{first}\treplayed{Environment.NewLine}{second}\treplayed{Environment.NewLine}", "one line per id, in the order given");
        (await ScalarAsync<long>($"select count(*) from {_schema}.{table} where id in ('{first}', '{second}')")).Should().Be(2);
        (await ScalarAsync<TimeSpan>($"select expires_at - occurred_at from {_schema}.{table} where id = '{first}'"))
            .Should().Be(TimeSpan.FromMinutes(1), "an event without a ttl expires after EB_PG_DEFAULT_TTL_IN_MS, as the consumer would have written it");
        (await ScalarAsync<long>($"select count(*) from {_schema}.{table}_dead_letters")).Should().Be(1, "only the ids named are replayed");
    });

    [Fact]
    public Task Replay_UnknownId_SaysNotFoundAndExitsWith1() => Attach(async () =>
    {
        var table = await CreateTableAsync("replay_unknown");
        var id = Guid.NewGuid();

        var result = await DeadLetters(table, "replay", id.ToString(), "--json");

        result.ExitCode.Should().Be(ExitCodes.Failure, result.ToString());
        using var json = JsonDocument.Parse(result.Out);
        json.RootElement.GetProperty("not_found").GetInt32().Should().Be(1);
        json.RootElement.GetProperty("results")[0].GetProperty("outcome").GetString().Should().Be("not_found");
    });

    [Fact]
    public Task Replay_All_TriesEveryDeadLetterOfTheTopicOnceThoughReplayedOnesVanishWhileItPages() => Attach(async () =>
    {
        // More than a listing page, a quarter of them still refused: replayed ones leave the table and refused
        // ones move to its top while the command runs, which paging as it replays would trip over.
        const int Count = DeadLettersCommand.ListingPageSize + 200;
        var table = await CreateTableAsync("replay_all", refuse13: true);
        await ExecuteAsync($"""
            insert into {_schema}.{table}_dead_letters (id, topic, data, occurred_at, reason, error_type, first_failed_at, last_failed_at)
            select gen_random_uuid(), 'orders', convert_to(case when n % 4 = 0 then '{Refused}' else '{Accepted}' end, 'UTF8'),
                   now(), 'refused', '23514', timestamptz '2025-01-31 12:00:00+00' + n * interval '1 second',
                   timestamptz '2025-01-31 12:00:00+00' + n * interval '1 second'
            from generate_series(1, {Count}) n
            """);
        var refunds = Guid.NewGuid();
        await InsertAsync(table, refunds, Accepted, Noon, topic: "refunds");

        var result = await DeadLetters(table, "replay", "--all", "--topic", "orders");

        result.ExitCode.Should().Be(ExitCodes.Failure, "the refused quarter failed again");
        var outcomes = result.Out.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split('\t')[1]).ToList();
        outcomes.Should().HaveCount(Count, "each dead letter of the topic is tried exactly once");
        outcomes.Count(o => o == "replayed").Should().Be(Count * 3 / 4);
        outcomes.Count(o => o == "failed_again").Should().Be(Count / 4);
        (await ScalarAsync<long>($"select count(*) from {_schema}.{table}")).Should().Be(Count * 3 / 4);
        (await ScalarAsync<long>($"select count(*) from {_schema}.{table}_dead_letters where topic = 'orders' and attempts = 2"))
            .Should().Be(Count / 4, "each refused one was tried once more, not twice");
        (await ScalarAsync<int>($"select attempts from {_schema}.{table}_dead_letters where id = '{refunds}'"))
            .Should().Be(1, "--topic leaves the other topics alone");
    });

    [Fact]
    public Task Purge_Ids_DeletesThemAndSaysHowMany() => Attach(async () =>
    {
        var table = await CreateTableAsync("purge_ids");
        var (first, second, kept) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        foreach (var id in new[] { first, second, kept })
        {
            await InsertAsync(table, id, Refused, Noon);
        }

        var result = await DeadLetters(table, "purge", first.ToString(), second.ToString());

        result.ExitCode.Should().Be(ExitCodes.Success, result.ToString());
        result.Out.Should().Be("Purged 2 dead letters." + Environment.NewLine);
        (await ScalarAsync<long>($"select count(*) from {_schema}.{table}_dead_letters")).Should().Be(1, "only the ids named are deleted");
    });

    [Fact]
    public Task Purge_UnknownId_DeletesTheOthersAndExitsWith1NamingIt() => Attach(async () =>
    {
        var table = await CreateTableAsync("purge_unknown");
        var (known, unknown) = (Guid.NewGuid(), Guid.NewGuid());
        await InsertAsync(table, known, Refused, Noon);

        var result = await DeadLetters(table, "purge", known.ToString(), unknown.ToString());

        result.ExitCode.Should().Be(ExitCodes.Failure, result.ToString());
        result.Out.Should().Be("Purged 1 dead letter." + Environment.NewLine);
        result.Error.Should().Contain($"no dead letter with id {unknown}");
    });

    [Fact]
    public Task Purge_AllBefore_DeletesOnlyThoseThatLastFailedEarlier() => Attach(async () =>
    {
        var table = await CreateTableAsync("purge_before");
        var (old, recent) = (Guid.NewGuid(), Guid.NewGuid());
        await InsertAsync(table, old, Refused, Noon);
        await InsertAsync(table, recent, Refused, Noon.AddHours(1));

        var result = await DeadLetters(table, "purge", "--all", "--before", "2025-01-31T12:30:00Z", "--json");

        result.ExitCode.Should().Be(ExitCodes.Success, result.ToString());
        using var json = JsonDocument.Parse(result.Out);
        json.RootElement.GetProperty("purged").GetInt64().Should().Be(1);
        (await ScalarAsync<Guid>($"select id from {_schema}.{table}_dead_letters")).Should().Be(recent);
    });

    [Fact]
    public Task Purge_All_DeletesEveryOne() => Attach(async () =>
    {
        var table = await CreateTableAsync("purge_all");
        await InsertAsync(table, Guid.NewGuid(), Refused, Noon);
        await InsertAsync(table, Guid.NewGuid(), null, Noon, topic: "refunds");

        var result = await DeadLetters(table, "purge", "--all");

        result.ExitCode.Should().Be(ExitCodes.Success, result.ToString());
        result.Out.Should().Be("Purged 2 dead letters." + Environment.NewLine);
        (await ScalarAsync<long>($"select count(*) from {_schema}.{table}_dead_letters")).Should().Be(0);
    });

    [Fact]
    public Task List_TableFromBeforeDeadLetters_ExitsWith1SayingHowToAddTheirTable() => Attach(async () =>
    {
        // The events table of an earlier version: no dead-letter table beside it.
        await ExecuteAsync($"create table {_schema}.old_events (id uuid primary key, topic text not null, data jsonb not null)");

        var result = await DeadLetters("old_events", "list");

        result.ExitCode.Should().Be(ExitCodes.Failure, result.ToString());
        result.Error.Should().Contain("old_events_dead_letters\" does not exist", "PostgreSQL's words name the table")
            .And.Contain("created before dead letters were stored", "and the command says what that means")
            .And.Contain("Run the demo, or start the consumer");
        result.Error.Should().NotContain("nothing was persisted in that table yet (run the demo", "that is the events table's message");
    });

    private async Task<string> CreateTableAsync(string table, bool refuse13 = false)
    {
        await SchemaManager.EnsureSchemaAsync(postgres.DataSource, new EventTable(_schema, table));
        if (refuse13)
        {
            await ExecuteAsync($"alter table {_schema}.{table} add constraint refused check ((convert_from(data, 'UTF8')::jsonb->>'Number')::int <> 13)");
        }

        return table;
    }

    // A dead letter as the consumer stores it; the event occurred an hour before it last failed.
    private Task InsertAsync(
        string table, Guid id, string? data, DateTimeOffset lastFailedAt, string topic = "orders", int attempts = 1,
        string reason = "PostgreSQL refused its row (23514)", string errorType = "23514", int? ttlSeconds = 300)
    {
        var at = lastFailedAt.ToString("O", CultureInfo.InvariantCulture);
        var occurred = lastFailedAt.AddHours(-1).ToString("O", CultureInfo.InvariantCulture);
        var ttlSql = ttlSeconds is { } seconds ? $"interval '{seconds.ToString(CultureInfo.InvariantCulture)} seconds'" : "null";
        var dataSql = data is null ? "null" : $"convert_to('{data}', 'UTF8')";
        return ExecuteAsync($"""
            insert into {_schema}.{table}_dead_letters
                (id, transaction_id, topic, data, data_type, initialized_at, occurred_at, source, ttl, reason, error_type, first_failed_at, last_failed_at, attempts)
            values ('{id}', gen_random_uuid(), '{topic}', {dataSql}, 'Order', '{occurred}', '{occurred}', 'shop', {ttlSql},
                    '{reason.Replace("'", "''", StringComparison.Ordinal)}', '{errorType}', '{at}', '{at}', {attempts})
            """);
    }

    private async Task<CliResult> DeadLetters(string table, params string[] args)
    {
        var result = await InProcess.RunAsync(["dead-letters", .. args, "--database-url", postgres.ConnectionString, "--schema", _schema, "--table", table]);
        output.WriteLine(result.ToString());
        return result;
    }

    private Task ExecuteAsync(string sql) => Sql.ExecuteAsync(postgres.ConnectionString, sql);

    private Task<T> ScalarAsync<T>(string sql) => Sql.ScalarAsync<T>(postgres.ConnectionString, sql);

    private Task Attach(Func<Task> test) => postgres.AttachLogOnFailureAsync(output, test);
}
