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
        // Close the page first, so the next test starts from a blank page and this server's streams end with their
        // client (they also end when the app stops: StreamEndpoints, tested by the stop-with-a-page-open test).
        chromium.LeavePage();
        await Cleanup.DisposeAllAsync(_cleanup);
    }

    private async Task<DashboardServer> ServeAsync(string table, string[]? topics = null,
        Action<PostgresPersistenceOptions>? configure = null, Func<PostgresPersistenceOptions, Task>? beforeStart = null,
        Func<Microsoft.AspNetCore.Http.HttpContext, Task>? beforeEachRequest = null)
    {
        var bus = new EventBus(new EventBusOptions { Topics = topics ?? ["orders", "refunds"] });
        var server = await DashboardServer.StartAsync(database, bus, _schema, table, configure, beforeStart, beforeEachRequest);
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
    public async Task Chart_DrawsEachTopicsStoredCountsPerInterval_StackedAndToScale()
    {
        var server = await ServeAsync("charted");
        var now = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        (string Topic, DateTimeOffset At)[] events =
        [
            ("orders", now.AddMinutes(-50)), ("orders", now.AddMinutes(-50)),
            ("orders", now.AddMinutes(-30)), ("refunds", now.AddMinutes(-30)),
            ("refunds", now.AddMinutes(-10)),
            ("orders", now.AddHours(-5)), // before the last hour: not in the chart
        ];
        foreach (var (topic, at) in events)
        {
            server.Bus.Publish(server.Bus.CreateEvent(topic, new Order(1)) with { OccurredAt = at });
        }

        await Wait.UntilAsync(() => server.Consumer.Statistics.Persisted == events.Length, "the consumer wrote every event");

        var driver = chromium.Driver;
        driver.Navigate().GoToUrl(server.PageUrl);
        driver.FindElement(By.CssSelector("#counts-since option:checked")).GetAttribute("value").Should().Be("3600",
            "the page opens on the last hour: all time counts the whole table");
        driver.UntilTrue(d => Segments(driver).Sum(s => s.Count) == 5, "the chart shows the last hour's five events",
            () => string.Join("; ", Segments(driver)));

        // The server chose the width (30 s for an hour); each segment is one topic's count in one interval.
        var interval = long.Parse(driver.FindElement(By.CssSelector("#timeline svg.chart")).GetAttribute("data-interval-seconds")!,
            System.Globalization.CultureInfo.InvariantCulture);
        interval.Should().Be(30);
        var expected = events.Where(e => e.At > now.AddHours(-1))
            .GroupBy(e => (e.Topic, Start: DateTimeOffset.FromUnixTimeSeconds(e.At.ToUnixTimeSeconds() / interval * interval)))
            .Select(g => (g.Key.Topic, g.Key.Start, Count: (long)g.Count()));
        var segments = Segments(driver);
        segments.Select(s => (s.Topic, s.Start, s.Count)).Should().BeEquivalentTo(expected);

        // To scale: the highest stack (2 events) fills the chart's 100 units, one event is half of it, and in the
        // interval with both topics refunds sits on top of orders.
        segments.Single(s => s.Topic == "orders" && s.Count == 2).Height.Should().BeApproximately(100, 0.01);
        var mixed = segments.Where(s => s.Start == DateTimeOffset.FromUnixTimeSeconds(now.AddMinutes(-30).ToUnixTimeSeconds() / 30 * 30))
            .ToDictionary(s => s.Topic);
        mixed["orders"].Height.Should().BeApproximately(50, 0.01);
        (mixed["orders"].Y, mixed["refunds"].Y).Should().Be((50, 0), "the second topic is stacked on the first");
        driver.Texts("#timeline .legend-item").Should().Equal("orders (3)", "refunds (2)");

        // All time runs from the first stored event, 5 hours ago, in a width the server chose (5 min: ≤ 120 bars).
        driver.FindElement(By.CssSelector("#counts-since option[value='']")).Click();
        driver.UntilTrue(d => Segments(driver).Sum(s => s.Count) == 6, "all time shows every event",
            () => string.Join("; ", Segments(driver)));
        driver.FindElement(By.CssSelector("#timeline svg.chart")).GetAttribute("data-interval-seconds").Should().Be("300");
        driver.Texts("#timeline .legend-item").Should().Equal("orders (4)", "refunds (2)");
    }

    [Fact]
    public async Task Chart_AnswerForARangeNoLongerChosen_IsDroppedNotDrawn()
    {
        // The all-time read is held until the test lets it go: it answers after the user chose the last hour.
        var allTimeAsked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = await ServeAsync("stale", beforeEachRequest: async context =>
        {
            if (context.Request.Path.Value!.EndsWith("/api/stored/timeline", StringComparison.Ordinal) && !context.Request.Query.ContainsKey("since"))
            {
                allTimeAsked.TrySetResult();
                await release.Task.WaitAsync(Page.Timeout);
            }
        });
        var now = DateTimeOffset.UtcNow;
        server.Bus.Publish(server.Bus.CreateEvent("orders", new Order(1)) with { OccurredAt = now.AddMinutes(-5) });
        server.Bus.Publish(server.Bus.CreateEvent("orders", new Order(2)) with { OccurredAt = now.AddDays(-3) });
        await Wait.UntilAsync(() => server.Consumer.Statistics.Persisted == 2, "both events stored");

        var driver = chromium.Driver;
        driver.Navigate().GoToUrl(server.PageUrl);
        driver.UntilTrue(d => Segments(driver).Sum(s => s.Count) == 1, "the last hour shows one event");
        driver.FindElement(By.CssSelector("#counts-since option[value='']")).Click();
        await allTimeAsked.Task.WaitAsync(Page.Timeout);
        driver.FindElement(By.CssSelector("#counts-since option[value='3600']")).Click();
        driver.UntilTrue(d => Segments(driver).Count == 1 && d.FindElement(By.CssSelector("#timeline svg.chart")).GetAttribute("data-interval-seconds") == "30",
            "the last hour is drawn again");

        release.SetResult();
        // The all-time answer now arrives. Wait until the browser has received all of it (its resource timing entry
        // ends), then give its handlers a moment to run (they are already queued: its body is in memory) before
        // looking: drawn, it would show two events in wider bars until the next refresh, 10 s later.
        driver.UntilTrue(
            d => Convert.ToDouble(driver.ExecuteScript(
                "var e = performance.getEntriesByType('resource').filter(r => /api\\/stored\\/timeline$/.test(r.name)); " +
                "return e.length ? e[e.length - 1].responseEnd : 0;"), System.Globalization.CultureInfo.InvariantCulture) > 0,
            "the browser received the all-time answer");
        driver.ExecuteAsyncScript("var done = arguments[arguments.length - 1]; setTimeout(done, 200);");
        driver.FindElement(By.CssSelector("#timeline svg.chart")).GetAttribute("data-interval-seconds").Should().Be("30", "the chart still shows the last hour");
        Segments(driver).Sum(s => s.Count).Should().Be(1, "the all-time answer (two events) was dropped");
        Page.Number(driver.TextOf("#counts .bar-row[data-topic=orders] .bar-count")).Should().Be(1);
    }

    [Fact]
    public async Task Escaping_MarkupInADeadLettersTopicAndReason_IsShownAsText_InTheListAndTheConfirmation()
    {
        const string table = "escaped_dl";
        var server = await ServeAsync(table);
        // A reason comes from PostgreSQL's error text, which quotes the refused values: markup can reach it.
        var id = Guid.NewGuid();
        await using (var insert = database.DataSource.CreateCommand(
            $"insert into {_schema}.{table}_dead_letters (id, topic, data, reason, error_type, first_failed_at, last_failed_at) " +
            "values ($1, $2, convert_to('{}', 'UTF8'), $3, 'X', now(), now())"))
        {
            insert.Parameters.Add(new Npgsql.NpgsqlParameter { Value = id });
            insert.Parameters.Add(new Npgsql.NpgsqlParameter { Value = Script });
            insert.Parameters.Add(new Npgsql.NpgsqlParameter { Value = "refused: " + Img + Script });
            await insert.ExecuteNonQueryAsync();
        }
        var row = $"#dead-letter-list tr.dead-letter[data-id='{id}']";

        var driver = chromium.Driver;
        driver.Navigate().GoToUrl(server.PageUrl);
        var replay = driver.Until(d => d.FindElement(By.CssSelector(row + " button.replay")), "the dead letter is listed",
            () => driver.TextOf("#dead-letters") ?? "");
        driver.TextOf(row).Should().Contain(Script).And.Contain(Img, "topic and reason are shown as text");
        replay.Click();
        var confirm = driver.Until(d => d.SwitchTo().Alert(), "the page asks for confirmation");
        confirm.Text.Should().Contain(Script, "the confirmation names the topic literally");
        confirm.Dismiss();

        driver.All(row).Should().HaveCount(1, "a dismissed confirmation does nothing");
        driver.ExecuteScript("return typeof window.__pwned;").Should().Be("undefined", "no markup from the data ran");
        driver.ExecuteScript("return document.images.length + document.querySelectorAll('[onerror]').length;")
            .Should().Be(0L, "no img (or onerror attribute) from the data is in the DOM");
    }

    private sealed record Segment(string Topic, DateTimeOffset Start, long Count, double Y, double Height);

    // Every bar segment of the chart, read in one script call (the chart is redrawn every 10 s).
    private static List<Segment> Segments(OpenQA.Selenium.Chrome.ChromeDriver driver) =>
        ((IEnumerable<object>)driver.ExecuteScript(
            "return Array.from(document.querySelectorAll('#timeline rect')).map(r => [r.getAttribute('data-topic'), " +
            "r.getAttribute('data-start'), r.getAttribute('data-count'), r.getAttribute('y'), r.getAttribute('height')]);")!)
        .Cast<IReadOnlyCollection<object>>()
        .Select(a => a.Select(o => (string)o).ToArray())
        .Select(a => new Segment(a[0], DateTimeOffset.Parse(a[1], System.Globalization.CultureInfo.InvariantCulture),
            long.Parse(a[2], System.Globalization.CultureInfo.InvariantCulture),
            double.Parse(a[3], System.Globalization.CultureInfo.InvariantCulture), double.Parse(a[4], System.Globalization.CultureInfo.InvariantCulture)))
        .ToList();

    [Fact]
    public async Task StoreUnreadable_PageSaysSo_AndClearsItWhenTheStoreIsBack()
    {
        var server = await ServeAsync("unreadable");
        server.Bus.Publish("orders", new Order(1));
        await Wait.UntilAsync(() => server.Consumer.Statistics.Persisted == 1, "the consumer wrote the event");
        var driver = chromium.Driver;
        driver.Navigate().GoToUrl(server.PageUrl);
        driver.UntilTrue(d => d.All("#counts .bar-row").Count == 1, "the counts are shown");
        driver.FindElement(By.Id("store-error")).Displayed.Should().BeFalse();

        // The tables go away under the page (as when the database is down or the table is dropped).
        await Sql.ExecuteAsync(database.ConnectionString,
            $"alter table {_schema}.unreadable rename to gone; alter table {_schema}.unreadable_dead_letters rename to gone_dead_letters");
        driver.FindElement(By.CssSelector("#counts-since option[value='86400']")).Click(); // reads the store now
        driver.UntilTrue(d => d.FindElement(By.Id("store-error")).Displayed, "the page says the store cannot be read",
            () => driver.TextOf("#stored") ?? "");
        driver.TextOf("#store-error").Should().StartWith("Cannot read the stored events: 500");
        driver.UntilTrue(d => d.FindElement(By.Id("dead-letters-error")).Displayed, "the dead-letter list says so too, on its next refresh",
            () => driver.TextOf("#dead-letters") ?? "");

        await Sql.ExecuteAsync(database.ConnectionString,
            $"alter table {_schema}.gone rename to unreadable; alter table {_schema}.gone_dead_letters rename to unreadable_dead_letters");
        driver.FindElement(By.CssSelector("#counts-since option[value='3600']")).Click();
        driver.UntilTrue(d => !d.FindElement(By.Id("store-error")).Displayed, "the error is cleared by the next read that works",
            () => driver.TextOf("#store-error") ?? "");
        driver.All("#counts .bar-row").Should().HaveCount(1);
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
        driver.TextOf("#queued").Should().Be($"0 / {server.Consumer.Options.BufferSize.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)}",
            "the queue shows its fill against its bound");
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

    [Fact]
    public async Task TailState_LiveOnceConnected_ThenTheFailureWhenTheTableGoes_ThenLiveAgain()
    {
        var server = await ServeAsync("tailed");
        var driver = chromium.Driver;
        driver.Navigate().GoToUrl(server.PageUrl);
        driver.UntilTailIsLive();
        driver.TextOf("#tail-state").Should().Be("live");
        var marker = server.Bus.Publish("orders", new Order(1));
        driver.Until(d => d.FindElements(By.CssSelector($"#tail tr[data-id='{marker.Id}']")).FirstOrDefault(),
            "an event committed once the page said live shows in the tail (no retry)", () => driver.TextOf("#tail") ?? "");

        // The table goes: the subscription's next poll fails with an error retrying cannot fix.
        await Sql.ExecuteAsync(database.ConnectionString, $"ALTER TABLE \"{_schema}\".tailed RENAME TO tailed_gone");
        driver.UntilTrue(d => d.All("#tail-state[data-state=failed]").Count == 1, "the page shows the tail failed",
            () => driver.TextOf("#tail-state") ?? "");
        driver.TextOf("#tail-state").Should().StartWith("failed: ").And.Contain("tailed", "the reason names the missing table");

        // Back again: the browser reconnects, a fresh subscription starts, and the page says so.
        await Sql.ExecuteAsync(database.ConnectionString, $"ALTER TABLE \"{_schema}\".tailed_gone RENAME TO tailed");
        driver.UntilTailIsLive();
    }

    private const string Script = "<script>window.__pwned=1</script>";
    private const string Img = "<img src=x onerror=\"window.__pwned=2\">";

    [Fact]
    public async Task Escaping_MarkupInTopicPayloadAndSource_IsShownAsText_AndNothingRuns()
    {
        var server = await ServeAsync("escaped", ["orders", Script, Img]);
        var driver = chromium.Driver;
        driver.Navigate().GoToUrl(server.PageUrl);
        driver.UntilTailIsLive();

        var hostile = server.Bus.CreateEvent(Script, new Note(Script + Img)) with { Source = Img };
        server.Bus.Publish(hostile);
        var other = server.Bus.CreateEvent(Img, new Note(Img)) with { Source = Script };
        server.Bus.Publish(other);
        await Wait.UntilAsync(() => server.Consumer.Statistics.Persisted == 2, "the consumer stored both events");

        // The live tail: both rows arrive, topic and source as text.
        var tailRow = driver.Until(d => d.FindElements(By.CssSelector($"#tail tr[data-id='{hostile.Id}']")).FirstOrDefault(),
            "the hostile event arrives in the live tail", () => driver.TextOf("#tail") ?? "");
        tailRow.Text.Should().Contain(Script).And.Contain(Img);
        driver.Until(d => d.FindElements(By.CssSelector($"#tail tr[data-id='{other.Id}']")).FirstOrDefault(), "the second one too");

        // The live view's topics table and the stored counts name the topics literally.
        // (Read in one script call: the live view rebuilds the table on every message.)
        driver.UntilTrue(d => driver.Texts("#topics tbody td.topic").Contains(Script) && driver.Texts("#topics tbody td.topic").Contains(Img),
            "the topics table lists both topics by name", () => driver.TextOf("#topics tbody") ?? "");
        driver.FindElement(By.CssSelector("#counts-since option[value='86400']")).Click(); // reloads the counts now
        driver.UntilTrue(d => driver.Texts("#counts .bar-label").Contains(Img) && driver.Texts("#counts .bar-label").Contains(Script),
            "the stored counts name the topics",
            () => driver.TextOf("#counts") ?? "");
        driver.UntilTrue(d => driver.Texts("#timeline .legend-item").Contains(Img + " (1)") && driver.Texts("#timeline .legend-item").Contains(Script + " (1)"),
            "the chart's legend names the topics", () => driver.TextOf("#timeline") ?? "");
        driver.Texts("#timeline rect title").Should().Contain(t => t.StartsWith(Script + ": 1 from", StringComparison.Ordinal), "a bar's title names its topic");

        // Search by topic, then open the detail.
        driver.FindElement(By.Id("search-topic")).SendKeys(Script);
        driver.FindElement(By.CssSelector("#search-form button[type=submit]")).Click();
        var result = driver.Until(d => d.FindElements(By.CssSelector($"#results tr[data-id='{hostile.Id}']")).FirstOrDefault(),
            "the search finds the event by its topic", () => driver.TextOf("#results") + " " + driver.TextOf("#search-error"));
        driver.All("#results tbody tr").Should().HaveCount(1, "only the event on that topic");
        result.Text.Should().Contain(Script).And.Contain(Img);
        result.Click();
        driver.UntilTrue(d => d.TextOf("#detail-id") == hostile.Id.ToString(), "the detail shows the event");
        driver.TextOf("#detail-data").Should().Contain(Script)
            .And.Contain(Img.Replace("\"", "\\\"", StringComparison.Ordinal), "the payload is printed as text (JSON, quotes escaped)");
        driver.TextOf("#detail-fields").Should().Contain(Script).And.Contain(Img, "topic and source are printed as text");

        driver.ExecuteScript("return typeof window.__pwned;").Should().Be("undefined", "no markup from the data ran");
        driver.ExecuteScript("return Array.from(document.scripts).map(s => s.getAttribute('src') || s.textContent).join('|');")
            .Should().Be("assets/app.js", "the page's own script is the only script element");
        driver.ExecuteScript("return document.images.length + document.querySelectorAll('[onerror]').length;")
            .Should().Be(0L, "no img (or onerror attribute) from the data is in the DOM");
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

internal sealed record Note(string Text);
