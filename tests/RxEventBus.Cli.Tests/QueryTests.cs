using System.Text.Json;
using RxEventBus.Cli.Tests.Support;
using RxEventBus.Postgres.Tests.Support;
using Xunit.Abstractions;

namespace RxEventBus.Cli.Tests;

// rxeventbus query over what a demo run stored.
[Collection(SharedPostgres.Name)]
public sealed class QueryTests(PostgresFixture postgres, ITestOutputHelper output) : IAsyncLifetime
{
    private const int Events = 1500;

    // One demo run for the whole class (xunit makes an instance per test); the collection's tests run one at
    // a time, and they all see the same fixture, so its schema stays valid for each of them.
    private static readonly SemaphoreSlim RunGate = new(1, 1);
    private static (PostgresFixture Postgres, string Schema, string TransactionId)? _run;

    private string _schema = "";
    private string _transactionId = "";

    public async Task InitializeAsync()
    {
        await RunGate.WaitAsync();
        try
        {
            if (_run is not { } run || run.Postgres != postgres)
            {
                var schema = await postgres.CreateSchemaAsync(nameof(QueryTests));
                var demo = await InProcess.RunAsync("demo", "--events", Events.ToString(System.Globalization.CultureInfo.InvariantCulture), "--json", "--database-url", postgres.ConnectionString, "--schema", schema);
                demo.ExitCode.Should().Be(ExitCodes.Success, demo.ToString());
                using var json = JsonDocument.Parse(demo.Out);
                _run = run = (postgres, schema, json.RootElement.GetProperty("transaction_id").GetString()!);
            }

            (_schema, _transactionId) = (run.Schema, run.TransactionId);
        }
        finally
        {
            RunGate.Release();
        }
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Count_AfterADemo_IsTheNumberOfEvents()
    {
        var text = await Query("count");
        var json = await Query("count", "--json");

        text.Out.Should().Be($"{Events}{Environment.NewLine}");
        using var document = JsonDocument.Parse(json.Out);
        document.RootElement.GetProperty("count").GetInt64().Should().Be(Events);
    }

    [Fact]
    public async Task Count_SinceTheFuture_IsZero()
    {
        (await Query("count", "--since", "2999-01-01T00:00:00Z")).Out.Trim().Should().Be("0");
    }

    [Fact]
    public async Task Topics_AfterADemo_CountsTheDemoTopic()
    {
        (await Query("topics")).Out.Should().Be($"fake_event_initialized\t{Events}{Environment.NewLine}");
    }

    [Fact]
    public async Task Transaction_PagesThroughTheRunsEvents()
    {
        var result = await Query("transaction", _transactionId, "--page", "2", "--per-page", "1000", "--json");

        using var json = JsonDocument.Parse(result.Out);
        var events = json.RootElement.GetProperty("events").EnumerateArray().ToList();
        events.Should().HaveCount(Events - 1000);
        events.Should().OnlyContain(e => e.GetProperty("transaction_id").GetString() == _transactionId);
        events[0].GetProperty("data").GetString().Should().Be("this is a fake event");
        events[0].GetProperty("source").GetString().Should().Be("console");
        events[0].GetProperty("ttl_seconds").GetDouble().Should().Be(600);
    }

    [Fact]
    public async Task Find_StoredEvent_PrintsIt()
    {
        var page = await Query("all", "--per-page", "1");
        var id = page.Out.Split('\t')[0];

        var found = await Query("find", id);

        found.Out.Should().Contain($"id              {id}").And.Contain("topic           fake_event_initialized")
            .And.Contain($"transaction_id  {_transactionId}").And.Contain("data            \"this is a fake event\"");
    }

    [Fact]
    public async Task Find_UnknownId_ExitsWith1()
    {
        var result = await InProcess.RunAsync("query", "find", Guid.NewGuid().ToString(), "--database-url", postgres.ConnectionString, "--schema", _schema);

        result.ExitCode.Should().Be(ExitCodes.Failure);
        result.Out.Should().BeEmpty();
        result.Error.Should().Contain("no event with id");
    }

    [Fact]
    public async Task Count_MissingTable_ExitsWith1SayingSo()
    {
        var result = await InProcess.RunAsync("query", "count", "--database-url", postgres.ConnectionString, "--schema", _schema, "--table", "nothing_here");

        result.ExitCode.Should().Be(ExitCodes.Failure, result.ToString());
        result.Error.Should().Contain("does not exist").And.Contain("nothing was persisted in that table yet");
    }

    private async Task<CliResult> Query(params string[] args)
    {
        var result = await InProcess.RunAsync(["query", .. args, "--database-url", postgres.ConnectionString, "--schema", _schema]);
        output.WriteLine(result.ToString());
        result.ExitCode.Should().Be(ExitCodes.Success, result.ToString());
        return result;
    }
}
