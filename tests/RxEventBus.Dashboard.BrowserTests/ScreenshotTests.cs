using OpenQA.Selenium;
using RxEventBus.Dashboard.BrowserTests.Support;
using RxEventBus.Postgres;
using RxEventBus.Postgres.Tests.Support;
using RxEventBus.Tests.Common;

namespace RxEventBus.Dashboard.BrowserTests;

// The page with every panel holding real data, saved as a full-page PNG in TestResults/ (a test artifact). With
// RXEB_UPDATE_SCREENSHOT=1 it is also copied to docs/images/dashboard.png, the picture docs/dashboard.md shows.
[Collection(SharedBrowser.Name)]
public sealed class ScreenshotTests(PostgresFixture database, Chromium chromium) : IAsyncLifetime
{
    public const string UpdateVariable = "RXEB_UPDATE_SCREENSHOT";

    private readonly List<IAsyncDisposable> _cleanup = [];
    private string _schema = "";

    public async Task InitializeAsync() => _schema = await database.CreateSchemaAsync("screenshot");

    public async Task DisposeAsync()
    {
        chromium.LeavePage();
        await Cleanup.DisposeAllAsync(_cleanup);
    }

    [Fact]
    public async Task Page_WithRealData_IsSavedAsAFullPageScreenshot()
    {
        const string table = "events";
        var bus = new EventBus(new EventBusOptions { Topics = ["orders", "refunds", "shipments"] });
        _cleanup.Add(new Disposer(bus.Dispose));
        var server = await DashboardServer.StartAsync(database, bus, _schema, table,
            o => o.PayloadType = PayloadType.Jsonb,
            async o =>
            {
                await SchemaManager.EnsureSchemaAsync(database.DataSource, o.ToEventTable());
                await Sql.ExecuteAsync(database.ConnectionString,
                    $"alter table {_schema}.{table} add constraint refused check ((data->>'Number')::int <> 13)");
            });
        _cleanup.Add(server);
        // Some history before the page opens, spread over the last hour so the chart has a shape: stored events and
        // a dead letter (refused by the check constraint).
        var now = DateTimeOffset.UtcNow;
        const int history = 600;
        for (var i = 0; i < history; i++)
        {
            // Denser every quarter of an hour, like a workload with a rhythm.
            var secondsAgo = 3590 - (i * 6) + (int)(60 * Math.Sin(i / 15.0));
            bus.Publish(bus.CreateEvent(i % 4 == 0 ? "refunds" : "orders", new Order(20 + i)) with { OccurredAt = now.AddSeconds(-secondsAgo) });
        }

        bus.Publish("orders", new Order(13));
        await Wait.UntilAsync(() => server.Consumer.Statistics.DeadLettered == 1 && server.Consumer.Statistics.Persisted == history,
            "the history stored, one dead letter");

        var driver = chromium.Driver;
        driver.Navigate().GoToUrl(server.PageUrl);
        driver.UntilTrue(d => d.TextOf("#consumer-state") == "running", "the consumer runs");
        driver.UntilTrue(d => d.All("#dead-letter-list tr.dead-letter").Count == 1, "the dead letter listed");
        driver.UntilTrue(d => d.TextOf("#topics tr[data-topic=orders] .published") == "0", "the live view runs");
        MarkerInTail(bus, driver);

        // Traffic in rounds, each shown by the page before the next: the sparklines and the tail get a shape.
        var published = 0;
        for (var round = 1; round <= 12; round++)
        {
            for (var i = 0; i < round % 4 + 1; i++)
            {
                bus.Publish("orders", new Order(100 + published++));
            }

            bus.Publish(round % 3 == 0 ? "shipments" : "refunds", new Order(round));
            var orders = published;
            driver.UntilTrue(d => Page.Number(d.TextOf("#topics tr[data-topic=orders] .published")) == orders, $"the page shows {orders} orders");
        }

        await Wait.UntilAsync(() => server.Consumer.Statistics.Persisted == history + 1 + published + 12, "all stored (the marker included)");
        driver.FindElement(By.CssSelector("#counts-since option[value='86400']")).Click();
        driver.FindElement(By.CssSelector("#counts-since option[value='3600']")).Click(); // reloads the counts now
        driver.UntilTrue(d => d.All("#counts .bar-row").Count == 3, "three topics counted");
        driver.UntilTrue(d => driver.Texts("#timeline .legend-item").Count == 3, "the chart shows three topics");
        driver.FindElement(By.Id("search-topic")).SendKeys("shipments");
        driver.FindElement(By.CssSelector("#search-form button[type=submit]")).Click();
        driver.UntilTrue(d => d.All("#results tbody tr").Count == 4, "the shipments found");
        driver.FindElements(By.CssSelector("#results tbody tr"))[0].Click();
        driver.UntilTrue(d => !string.IsNullOrEmpty(d.TextOf("#detail-data")), "an event's detail");
        driver.UntilTrue(d => d.All("#tail tbody tr").Count >= 10, "the live tail shows the traffic");

        var path = Save(driver);

        new FileInfo(path).Length.Should().BeGreaterThan(10_000, "a real picture of the page");
    }

    /// <summary>Waits until the page's live tail is live, then publishes one marker on refunds and waits for its row.</summary>
    private static void MarkerInTail(EventBus bus, OpenQA.Selenium.Chrome.ChromeDriver driver)
    {
        driver.UntilTailIsLive();
        var marker = bus.Publish("refunds", new Order(99));
        driver.UntilTrue(d => d.All($"#tail tr[data-id='{marker.Id}']").Count > 0, "the marker shows in the tail");
    }

    /// <summary>Saves the whole page (the window stretched to its height) as PNG; returns the TestResults copy's path.</summary>
    private static string Save(OpenQA.Selenium.Chrome.ChromeDriver driver)
    {
        var root = RepositoryRoot();
        var height = Convert.ToInt32(driver.ExecuteScript("return document.documentElement.scrollHeight;"), System.Globalization.CultureInfo.InvariantCulture);
        var window = driver.Manage().Window;
        var before = window.Size;
        window.Size = new System.Drawing.Size(before.Width, Math.Max(before.Height, height + 140));
        try
        {
            var shot = driver.GetScreenshot();
            var results = Path.Combine(root, "TestResults");
            Directory.CreateDirectory(results);
            var path = Path.Combine(results, "dashboard.png");
            shot.SaveAsFile(path);
            if (Environment.GetEnvironmentVariable(UpdateVariable) == "1")
            {
                File.Copy(path, Path.Combine(root, "docs", "images", "dashboard.png"), overwrite: true);
            }

            return path;
        }
        finally
        {
            window.Size = before;
        }
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "RxEventBus.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No RxEventBus.sln above {AppContext.BaseDirectory}.");
    }

    private sealed class Disposer(Action dispose) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            dispose();
            return ValueTask.CompletedTask;
        }
    }
}
