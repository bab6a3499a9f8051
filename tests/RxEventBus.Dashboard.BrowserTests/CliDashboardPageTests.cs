using OpenQA.Selenium;
using RxEventBus.Dashboard.BrowserTests.Support;
using RxEventBus.Distributed.Tests.Support;
using RxEventBus.Postgres;
using RxEventBus.Postgres.Tests.Support;
using RxEventBus.Tests.Common;
using Xunit.Abstractions;

namespace RxEventBus.Dashboard.BrowserTests;

// `rxeventbus dashboard` as a user runs it: the built CLI as a real OS process (dotnet RxEventBus.Cli.dll) against
// the fixture's database, its printed address opened in the fixture's Chromium, and stopped with SIGTERM.
[Collection(SharedBrowser.Name)]
public sealed class CliDashboardPageTests(PostgresFixture database, Chromium chromium, ITestOutputHelper output)
{
    // Safety nets against a hang, not timings: a dotnet process starting on a busy machine takes seconds.
    private static readonly TimeSpan Bound = TimeSpan.FromMinutes(1);

    private static readonly string[] Topics = ["orders", "payments"];

    [Fact]
    public Task CliDashboard_HostConfigurationNamingAnotherAddress_IsIgnored_ItListensWhereUrlsSays() =>
        database.AttachLogOnFailureAsync(output, async () =>
        {
            var schema = await database.CreateSchemaAsync("cli_env");
            // What a container image or a shell profile may set for another app: each would bind every interface.
            var environment = new Dictionary<string, string>
            {
                ["ASPNETCORE_URLS"] = "http://0.0.0.0:0",
                ["URLS"] = "http://0.0.0.0:0",
                ["ASPNETCORE_HTTP_PORTS"] = "0",
                ["Kestrel__Endpoints__Http__Url"] = "http://0.0.0.0:0",
            };
            await using var cli = OsProcess.Start("rxeventbus dashboard (environment)", "dotnet",
                [OsProcess.CliPath, "dashboard", "--urls", "http://127.0.0.1:0", "--database-url", database.ConnectionString, "--schema", schema],
                environment);
            try
            {
                await cli.WaitUntilAsync(static p => p.Out.Any(static l => l.StartsWith("Dashboard: ", StringComparison.Ordinal)) || p.HasExited,
                    "it prints the page's address (or exits)", Bound);
                cli.Out.Should().Contain(static l => l.StartsWith("Dashboard: http://127.0.0.1:", StringComparison.Ordinal),
                    "it listens where --urls says, on loopback, and nowhere else\n{0}", cli);
                await cli.TerminateAsync();
                (await cli.WaitForExitAsync(Bound)).Should().Be(0, "{0}", cli);
            }
            finally
            {
                output.WriteLine(cli.ToString());
            }
        });

    [Fact]
    public Task CliDashboard_InChromium_ShowsTheStoredCountsTheLiveTailAndTheReadOnlyNote_AndStopsOnSigterm() =>
        database.AttachLogOnFailureAsync(output, async () =>
        {
            var schema = await database.CreateSchemaAsync("cli_page");
            var table = new EventTable(schema, "events");
            await SchemaManager.EnsureSchemaAsync(database.DataSource, table);
            await InsertAsync(schema, 5, "orders");
            await InsertAsync(schema, 2, "payments");

            await using var cli = OsProcess.StartCli(
                "rxeventbus dashboard",
                "dashboard", "--urls", "http://127.0.0.1:0", "--database-url", database.ConnectionString, "--schema", schema);
            try
            {
                await cli.WaitUntilAsync(static p => p.Out.Any(static l => l.StartsWith("Dashboard: ", StringComparison.Ordinal)),
                    "it prints the page's address", Bound);
                var url = cli.Out.First(static l => l.StartsWith("Dashboard: ", StringComparison.Ordinal))["Dashboard: ".Length..];
                url.Should().StartWith("http://127.0.0.1:").And.EndWith("/rxeventbus/").And.NotContain(":0/");

                var driver = chromium.Driver;
                driver.Navigate().GoToUrl(url);

                // The stored counts per topic, as the table has them.
                driver.UntilTrue(d => d.All("#counts .bar-row").Count == 2, "the page shows a bar for each stored topic",
                    () => driver.TextOf("#counts") ?? "(no #counts)");
                foreach (var topic in Topics)
                {
                    var stored = await Sql.ScalarAsync<long>(database.ConnectionString, $"select count(*) from \"{schema}\".events where topic = '{topic}'");
                    Page.Number(driver.TextOf($"#counts .bar-row[data-topic={topic}] .bar-count")).Should().Be(stored, $"the page shows the table's count of {topic}");
                }

                // Read-only by default: the dead-letter panel is there, with the note that actions are off.
                driver.UntilTrue(d => d.TextOf("#actions-off:not([hidden])") is not null, "the dead-letter panel says actions are off",
                    () => driver.TextOf("#dead-letters") ?? "(no #dead-letters)");
                driver.TextOf("#actions-off").Should().Contain("Actions are off");
                driver.ExecuteScript("return document.getElementById('dead-letters').hidden;").Should().Be(false, "the dead-letter panel is shown");

                // The live tail: an event a PostgresConsumer of this test commits after the page loaded shows up.
                var (marker, bus, consumer) = await TailShowsAsync(schema, driver);
                using (bus)
                await using (consumer)
                {
                    driver.TextOf($"#tail tbody tr[data-id='{marker}']").Should().Contain("orders").And.Contain("cli-browser-test");
                }

                // SIGTERM with the page still open (its two event streams included): a normal end.
                await cli.TerminateAsync();
                (await cli.WaitForExitAsync(Bound)).Should().Be(0, "SIGTERM is a server's normal end\n{0}", cli);
                cli.Error.Should().Contain(static l => l.Contains("stopped.", StringComparison.Ordinal), "it says it stopped");
            }
            finally
            {
                chromium.LeavePage();
                output.WriteLine(cli.ToString());
            }
        });

    /// <summary>
    /// Waits until the page says its live tail is live (every event committed from then on shows), then commits one
    /// event on orders through a <see cref="PostgresConsumer"/> of the test's own and waits for its row.
    /// </summary>
    private async Task<(Guid Marker, EventBus Bus, PostgresConsumer Consumer)> TailShowsAsync(string schema, OpenQA.Selenium.Chrome.ChromeDriver driver)
    {
        driver.UntilTailIsLive();
        var bus = new EventBus(new EventBusOptions { Topics = ["orders"] });
        var consumer = new PostgresConsumer(bus, new PostgresPersistenceOptions
        {
            ConnectionString = database.ConnectionString,
            Schema = schema,
            Table = "events",
            MaxBatchSize = 1,
            AutoDeleteWithTtl = false,
            RetryJitter = 0,
        });
        await consumer.StartAsync();
        try
        {
            var marker = bus.CreateEvent("orders", new Order(1)) with { Source = "cli-browser-test" };
            bus.Publish(marker);
            await Wait.UntilAsync(() => consumer.Statistics.Persisted == 1, "the consumer committed the event");
            driver.UntilTrue(d => d.All($"#tail tbody tr[data-id='{marker.Id}']").Count > 0, "the event committed once the tail was live shows in it",
                () => driver.TextOf("#tail tbody") ?? "");
            return (marker.Id, bus, consumer);
        }
        catch
        {
            await consumer.DisposeAsync();
            bus.Dispose();
            throw;
        }
    }

    // As DashboardCommandTests inserts them: plain SQL, the payload as bytea (the default column type).
    private Task InsertAsync(string schema, int count, string topic) => Sql.ExecuteAsync(
        database.ConnectionString,
        $"INSERT INTO \"{schema}\".events (id, topic, data, occurred_at, source) " +
        $"SELECT gen_random_uuid(), '{topic}', convert_to(jsonb_build_object('n', n)::text, 'UTF8'), now(), 'sql' FROM generate_series(1, {count}) AS n");
}
