using OpenQA.Selenium;
using RxEventBus.Dashboard.BrowserTests.Support;
using RxEventBus.Postgres;
using RxEventBus.Postgres.Tests.Support;
using RxEventBus.Tests.Common;

namespace RxEventBus.Dashboard.BrowserTests;

// The page in headless Chromium against a Kestrel server, a real bus and a real PostgresConsumer: every assertion
// reads what the browser shows (the DOM after the page's own script ran), and each waits, bounded, for it.
[Collection(SharedBrowser.Name)]
public sealed class DashboardPageTests(PostgresFixture database, Chromium chromium) : IAsyncLifetime
{
    private readonly List<IAsyncDisposable> _cleanup = [];
    private string _schema = "";

    public async Task InitializeAsync() => _schema = await database.CreateSchemaAsync("browser");

    public async Task DisposeAsync()
    {
        // Close the page first: the dashboard's streams end when their client goes, not when the app stops, so
        // an open page would hold the server's shutdown for its whole timeout.
        chromium.LeavePage();
        await Cleanup.DisposeAllAsync(_cleanup);
    }

    private async Task<DashboardServer> ServeAsync(string table, string[]? topics = null,
        Action<PostgresPersistenceOptions>? configure = null, Func<PostgresPersistenceOptions, Task>? beforeStart = null)
    {
        var bus = new EventBus(new EventBusOptions { Topics = topics ?? ["orders", "refunds"] });
        var server = await DashboardServer.StartAsync(database, bus, _schema, table, configure, beforeStart);
        _cleanup.Add(new BusDisposer(bus));
        _cleanup.Add(server);
        return server;
    }

    private Task<long> StoredAsync(string table, string topic) =>
        Sql.ScalarAsync<long>(database.ConnectionString, $"select count(*) from {_schema}.{table} where topic = '{topic}'");

    [Fact]
    public async Task Page_ShowsTheCountsPerTopicTheStoreHas()
    {
        var server = await ServeAsync("counted");
        for (var i = 0; i < 7; i++)
        {
            server.Bus.Publish("orders", new Order(i));
        }

        for (var i = 0; i < 3; i++)
        {
            server.Bus.Publish("refunds", new Order(i));
        }

        await Wait.UntilAsync(() => server.Consumer.Statistics.Persisted == 10, "the consumer wrote all ten events");
        var orders = await StoredAsync("counted", "orders");
        var refunds = await StoredAsync("counted", "refunds");
        (orders, refunds).Should().Be((7L, 3L));

        var driver = chromium.Driver;
        driver.Navigate().GoToUrl(server.PageUrl);

        driver.UntilTrue(d => d.All("#counts .bar-row").Count == 2, "the page shows a bar for each stored topic",
            () => driver.TextOf("#counts") ?? "(no #counts)");
        Page.Number(driver.TextOf("#counts .bar-row[data-topic=orders] .bar-count")).Should().Be(orders);
        Page.Number(driver.TextOf("#counts .bar-row[data-topic=refunds] .bar-count")).Should().Be(refunds);
        driver.TextOf("#counts .bar-row[data-topic=orders] .bar-label").Should().Be("orders");
    }

    [Fact]
    public async Task LiveView_Moves_WhileEventsArePublished()
    {
        var server = await ServeAsync("live");
        var driver = chromium.Driver;
        driver.Navigate().GoToUrl(server.PageUrl);
        driver.UntilTrue(d => d.TextOf("#consumer-state") == "running", "the consumer badge says running",
            () => driver.TextOf("#consumer-state") ?? "(none)");
        driver.UntilTrue(d => d.TextOf("#topics tr[data-topic=orders] .published") == "0", "the live view lists orders, none published yet",
            () => driver.TextOf("#topics tbody") ?? "(none)");

        // Publish one at a time, each after the page showed the one before: the figures move with the bus.
        for (var published = 1; published <= 3; published++)
        {
            server.Bus.Publish("orders", new Order(published));
            var expected = published;
            driver.UntilTrue(
                d => Page.Number(d.TextOf("#topics tr[data-topic=orders] .published")) == expected
                    && Page.Number(d.TextOf("#rows-written")) == expected,
                $"the page shows {expected} published on orders and {expected} rows written",
                () => $"published {driver.TextOf("#topics tr[data-topic=orders] .published")}, rows written {driver.TextOf("#rows-written")}");
        }

        driver.TextOf("#consumer-state").Should().Be("running");
        driver.TextOf("#live-state").Should().Be("live");
        Page.Number(driver.TextOf("#topics tr[data-topic=refunds] .published")).Should().Be(0);
    }

    [Fact]
    public async Task DeadLetter_ReplayedFromThePage_LeavesTheListAndIsStored()
    {
        const string table = "replayed";
        var server = await ServeAsync(table,
            configure: o => o.PayloadType = PayloadType.Jsonb, // the check constraint looks inside the payload
            beforeStart: async o =>
            {
                await SchemaManager.EnsureSchemaAsync(database.DataSource, o.ToEventTable());
                await Sql.ExecuteAsync(database.ConnectionString,
                    $"alter table {_schema}.{table} add constraint refused check ((data->>'Number')::int <> 13)");
            });
        var refused = server.Bus.Publish("orders", new Order(13));
        await Wait.UntilAsync(() => server.Consumer.Statistics.DeadLettered == 1, "the event is dead-lettered");
        await Sql.ExecuteAsync(database.ConnectionString, $"alter table {_schema}.{table} drop constraint refused");
        var row = $"#dead-letter-list tr.dead-letter[data-id='{refused.Id}']";

        var driver = chromium.Driver;
        driver.Navigate().GoToUrl(server.PageUrl);
        var replay = driver.Until(d => d.FindElement(By.CssSelector(row + " button.replay")), "the dead letter is listed with a Replay button",
            () => driver.TextOf("#dead-letters") ?? "(none)");
        driver.TextOf(row + " .reason").Should().Contain("23514", "the row shows why PostgreSQL refused it");
        replay.Click();
        var confirm = driver.Until(d => d.SwitchTo().Alert(), "the page asks for confirmation");
        confirm.Text.Should().Contain(refused.Id.ToString());
        confirm.Accept();

        driver.UntilTrue(d => d.All(row).Count == 0, "the replayed dead letter leaves the list", () => driver.TextOf("#dead-letters") ?? "");
        driver.TextOf("#action-result").Should().Contain("replayed");
        (await Sql.ScalarAsync<long>(database.ConnectionString, $"select count(*) from {_schema}.{table} where id = '{refused.Id}'"))
            .Should().Be(1, "the replayed event is in the events table");
        (await server.Consumer.DeadLetterStore.FindAsync(refused.Id)).Should().BeNull();
    }

    private sealed class BusDisposer(EventBus bus) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            bus.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}

internal sealed record Order(int Number);
