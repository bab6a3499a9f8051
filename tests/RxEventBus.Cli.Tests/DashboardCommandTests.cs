using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using RxEventBus.Cli.Tests.Support;
using RxEventBus.Postgres;
using RxEventBus.Postgres.Tests.Support;
using RxEventBus.Tests.Common;
using Xunit.Abstractions;

namespace RxEventBus.Cli.Tests;

// rxeventbus dashboard and demo --dashboard in-process, on port 0 over the fixture's database: the page and the API
// answer at the URL printed, read-only, loopback only, and the stop signal ends the server with exit code 0.
[Collection(SharedPostgres.Name)]
public sealed class DashboardCommandTests(PostgresFixture postgres, ITestOutputHelper output)
{
    // A safety net against a hang, not a timing.
    private static readonly TimeSpan Bound = TimeSpan.FromMinutes(2);

    [Fact]
    public Task Dashboard_OnPortZero_ServesThePageAndTheStoredCountsReadOnlyUntilStopped() => postgres.AttachLogOnFailureAsync(output, async () =>
    {
        var schema = await PrepareAsync("dash_cmd");
        await InsertAsync(schema, 3, "orders");
        await InsertAsync(schema, 2, "payments");

        await using var server = await Running.StartAsync(output, ["dashboard", "--urls", "http://127.0.0.1:0", .. Where(schema)], "Dashboard: ");
        using var http = new HttpClient { Timeout = Bound };

        server.Url.Should().StartWith("http://127.0.0.1:").And.EndWith("/rxeventbus/").And.NotContain(":0/", "the port Kestrel chose is printed");
        using (var page = await http.GetAsync(server.Url))
        {
            page.StatusCode.Should().Be(HttpStatusCode.OK);
            page.Content.Headers.ContentType!.MediaType.Should().Be("text/html");
            (await page.Content.ReadAsStringAsync()).Should().Contain("assets/app.js", "the dashboard's own page");
        }

        var counts = await GetJsonAsync(http, server.Url + "api/stored/counts");
        counts.EnumerateArray().ToDictionary(static c => c.GetProperty("topic").GetString()!, static c => c.GetProperty("count").GetInt64())
            .Should().BeEquivalentTo(new Dictionary<string, long> { ["orders"] = 3, ["payments"] = 2 });

        var overview = await GetJsonAsync(http, server.Url + "api/overview");
        overview.GetProperty("actionsEnabled").GetBoolean().Should().BeFalse("the command is read-only without --enable-actions");
        overview.GetProperty("table").GetString().Should().Be($"{schema}.events");
        overview.GetProperty("deadLetters").GetBoolean().Should().BeTrue("the dead-letter store is registered");

        using (var purge = new HttpRequestMessage(HttpMethod.Post, server.Url + $"api/dead-letters/{Guid.NewGuid()}/purge"))
        {
            purge.Headers.Add("X-RxEventBus-Action", "1");
            using var refused = await http.SendAsync(purge);
            refused.StatusCode.Should().Be(HttpStatusCode.Forbidden, "actions are off");
        }

        var result = await server.StopAsync(ExitCodes.Terminated);
        result.ExitCode.Should().Be(ExitCodes.Success, $"SIGTERM is a server's normal end\n{result}");
        result.All.Should().NotContain(postgres.ConnectionString, "the connection string is never printed");
        (await ListensAsync(new Uri(server.Url).Port)).Should().BeFalse("the server stopped");
    });

    [Fact]
    public Task Dashboard_RequestThatFails_Answers500AndSaysWhyOnStandardError() => postgres.AttachLogOnFailureAsync(output, async () =>
    {
        var schema = await PrepareAsync("dash_500");
        await InsertAsync(schema, 1, "orders");
        await using var server = await Running.StartAsync(output, ["dashboard", "--urls", "http://127.0.0.1:0", .. Where(schema)], "Dashboard: ");
        using var http = new HttpClient { Timeout = Bound };

        await Sql.ExecuteAsync(postgres.ConnectionString, $"alter table {schema}.events rename to gone");
        using (var failed = await http.GetAsync(server.Url + "api/stored/counts"))
        {
            failed.StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        }

        var result = await server.StopAsync(ExitCodes.Terminated);
        output.WriteLine(result.ToString());
        result.ExitCode.Should().Be(ExitCodes.Success, result.ToString());
        result.Error.Should().Contain("rxeventbus dashboard: error").And.Contain("42P01", "the server says why the page got a 500");
        result.All.Should().NotContain(postgres.ConnectionString);
    });

    [Fact]
    public Task Dashboard_WithEnableActions_SaysSoOnStandardErrorAndServesThem() => postgres.AttachLogOnFailureAsync(output, async () =>
    {
        var schema = await PrepareAsync("dash_actions");

        await using var server = await Running.StartAsync(
            output, ["dashboard", "--urls", "http://127.0.0.1:0", "--enable-actions", .. Where(schema)], "Dashboard: ");
        using var http = new HttpClient { Timeout = Bound };

        (await GetJsonAsync(http, server.Url + "api/overview")).GetProperty("actionsEnabled").GetBoolean().Should().BeTrue();
        using (var purge = new HttpRequestMessage(HttpMethod.Post, server.Url + $"api/dead-letters/{Guid.NewGuid()}/purge"))
        {
            purge.Headers.Add("X-RxEventBus-Action", "1");
            using var answered = await http.SendAsync(purge);
            answered.StatusCode.Should().Be(HttpStatusCode.NotFound, "with actions on, a purge of an unknown dead letter is served and finds nothing");
        }

        var result = await server.StopAsync(ExitCodes.Interrupted);
        result.ExitCode.Should().Be(ExitCodes.Success, result.ToString());
        result.Error.Should().Contain("ACTIONS ARE ON");
    });

    [Fact]
    public async Task Server_BoundBeyondLoopbackWithoutAllowRemote_StopsAtOnceWithAUsageError()
    {
        // The second lock, behind CheckUrls: whatever makes Kestrel bind a non-loopback address, the server does not stay up.
        var port = FreePort();
        var start = () => DashboardServer.StartAsync(
            [$"http://0.0.0.0:{port}"], allowRemote: false, enableActions: false, _ => { }, TextWriter.Null, "test", CancellationToken.None);

        (await start.Should().ThrowAsync<CliUsageException>()).Which.Message.Should().Contain("beyond this machine").And.Contain("--allow-remote");
        (await ListensAsync(port)).Should().BeFalse("it stopped at once");
    }

    [Theory]
    [InlineData("http://0.0.0.0:{0}")]
    [InlineData("http://*:{0}")]
    [InlineData("http://127.0.0.1:{0};http://192.0.2.10:{0}")]
    public Task Dashboard_UrlBeyondLoopback_IsAUsageErrorAndNothingListens(string urls) => postgres.AttachLogOnFailureAsync(output, async () =>
    {
        var schema = await PrepareAsync("dash_remote");
        var port = FreePort();

        var result = await InProcess.RunAsync(["dashboard", "--urls", string.Format(System.Globalization.CultureInfo.InvariantCulture, urls, port), .. Where(schema)])
            .WaitAsync(Bound);
        output.WriteLine(result.ToString());

        result.ExitCode.Should().Be(ExitCodes.Usage, result.ToString());
        result.Error.Should().Contain("--allow-remote").And.Contain("loopback");
        result.Out.Should().NotContain("Dashboard:");
        (await ListensAsync(port)).Should().BeFalse("nothing was started");
    });

    [Fact]
    public Task Demo_WithDashboard_ServesTheLiveBusAndTheStoredEventsUntilStopped() => postgres.AttachLogOnFailureAsync(output, async () =>
    {
        const int Events = 300;
        var schema = await postgres.CreateSchemaAsync("dash_demo");

        await using var demo = await Running.StartAsync(
            output,
            ["demo", "--dashboard", "--urls", "http://127.0.0.1:0", "--events", "300", "--database-url", postgres.ConnectionString, "--schema", schema],
            "Dashboard stays up");
        using var http = new HttpClient { Timeout = Bound };

        var printed = demo.Printed();
        var url = printed.First(static l => l.StartsWith("Dashboard: ", StringComparison.Ordinal))["Dashboard: ".Length..];
        printed.TakeWhile(static l => !l.StartsWith("Dashboard: ", StringComparison.Ordinal))
            .Should().NotContain(static l => l.StartsWith("Publishing", StringComparison.Ordinal), "the URL comes before publishing starts");

        var overview = await GetJsonAsync(http, url + "api/overview");
        var consumer = overview.GetProperty("consumer");
        consumer.ValueKind.Should().Be(JsonValueKind.Object, "the demo's own consumer is on the page");
        consumer.GetProperty("statistics").GetProperty("persisted").GetInt64().Should().Be(Events);
        overview.GetProperty("actionsEnabled").GetBoolean().Should().BeFalse();
        var counts = await GetJsonAsync(http, url + "api/stored/counts");
        counts.EnumerateArray().Single(static c => c.GetProperty("topic").GetString() == "fake_event_initialized")
            .GetProperty("count").GetInt64().Should().Be(Events);
        (await GetJsonAsync(http, url + "api/topics")).EnumerateArray().Select(static t => t.GetProperty("topic").GetString())
            .Should().Contain("fake_event_initialized", "the live view is the demo's bus");

        var result = await demo.StopAsync(ExitCodes.Interrupted);
        result.ExitCode.Should().Be(ExitCodes.Success, $"every event was persisted; stopping the page afterwards is no failure\n{result}");
        result.Out.Should().Contain("Dashboard stays up: press Ctrl-C to stop");
        (await ListensAsync(new Uri(url).Port)).Should().BeFalse("the dashboard stopped with the demo");
    });

    private string[] Where(string schema) => ["--database-url", postgres.ConnectionString, "--schema", schema];

    private async Task<string> PrepareAsync(string name)
    {
        var schema = await postgres.CreateSchemaAsync(name);
        await SchemaManager.EnsureSchemaAsync(postgres.DataSource, new EventTable(schema, "events"));
        return schema;
    }

    private Task InsertAsync(string schema, int count, string topic) => Sql.ExecuteAsync(
        postgres.ConnectionString,
        $"INSERT INTO \"{schema}\".events (id, topic, data, occurred_at, source) " +
        $"SELECT gen_random_uuid(), '{topic}', convert_to(jsonb_build_object('n', n)::text, 'UTF8'), now(), 'sql' FROM generate_series(1, {count}) AS n");

    private static async Task<JsonElement> GetJsonAsync(HttpClient http, string url)
    {
        using var response = await http.GetAsync(url);
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(HttpStatusCode.OK, $"GET {url} answered {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task<bool> ListensAsync(int port)
    {
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, port).WaitAsync(Bound);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    // A command running in-process until the test sends the stop signal; started once a line of standard output
    // begins with the text awaited.
    private sealed class Running : IAsyncDisposable
    {
        private readonly StopSignal _stop = new();
        private Task<CliResult> _run = Task.FromResult(new CliResult(-1, "", ""));

        public List<string> Lines { get; } = [];

        /// <summary>The lines of standard output so far.</summary>
        public IReadOnlyList<string> Printed()
        {
            lock (Lines)
            {
                return [.. Lines];
            }
        }

        public string Url { get; private set; } = "";

        public static async Task<Running> StartAsync(ITestOutputHelper output, string[] args, string awaited)
        {
            var running = new Running();
            var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            running._run = InProcess.RunAsync(
                new Dictionary<string, string?>(),
                running._stop,
                line =>
                {
                    lock (running.Lines)
                    {
                        running.Lines.Add(line.TrimEnd('\r'));
                    }

                    if (line.StartsWith("Dashboard: ", StringComparison.Ordinal))
                    {
                        running.Url = line["Dashboard: ".Length..].TrimEnd('\r');
                    }

                    if (line.StartsWith(awaited, StringComparison.Ordinal))
                    {
                        ready.TrySetResult();
                    }
                },
                onError: null,
                args);

            var first = await Task.WhenAny(ready.Task, running._run).WaitAsync(Bound);
            if (first != ready.Task)
            {
                var ended = await running._run;
                output.WriteLine(ended.ToString());
                throw new InvalidOperationException($"The command ended before printing '{awaited}': {ended}");
            }

            return running;
        }

        public async Task<CliResult> StopAsync(int exitCode)
        {
            _stop.Request(exitCode);
            return await _run.WaitAsync(Bound);
        }

        public async ValueTask DisposeAsync()
        {
            if (!_run.IsCompleted)
            {
                _stop.Request(ExitCodes.Interrupted);
                await _run.WaitAsync(Bound);
            }

            _stop.Dispose();
        }
    }
}
