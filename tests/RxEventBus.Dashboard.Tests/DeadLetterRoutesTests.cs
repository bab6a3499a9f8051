using System.Net;
using Microsoft.Extensions.DependencyInjection;
using RxEventBus.Dashboard.Tests.Support;
using RxEventBus.Postgres;
using RxEventBus.Postgres.Tests.Support;
using RxEventBus.Tests.Common;

namespace RxEventBus.Dashboard.Tests;

// Dead letters made as DeadLetterStoreTests makes them: a check constraint refuses Number 13, the consumer stores the
// event as a dead letter; dropping the constraint fixes the cause, so a replay succeeds.
[Collection(SharedPostgres.Name)]
public sealed class DeadLetterRoutesTests(PostgresFixture database) : IAsyncLifetime
{
    private readonly List<IAsyncDisposable> _cleanup = [];
    private readonly EventBus _bus = new(new EventBusOptions { Topics = ["orders"] });
    private string _schema = "";

    public async Task InitializeAsync() => _schema = await database.CreateSchemaAsync(nameof(DeadLetterRoutesTests));

    public async Task DisposeAsync()
    {
        await Cleanup.DisposeAllAsync(_cleanup);
        _bus.Dispose();
    }

    private async Task<PostgresConsumer> RefusingThirteenAsync(string table)
    {
        var options = new PostgresPersistenceOptions
        {
            ConnectionString = database.ConnectionString,
            Schema = _schema,
            Table = table,
            MaxBatchSize = 1,
            AutoDeleteWithTtl = false,
            RetryJitter = 0,
            PayloadType = PayloadType.Jsonb, // the check constraint looks inside the payload
        };
        await SchemaManager.EnsureSchemaAsync(database.DataSource, options.ToEventTable());
        await Sql.ExecuteAsync(database.ConnectionString, $"alter table {_schema}.{table} add constraint refused check ((data->>'Number')::int <> 13)");
        var consumer = new PostgresConsumer(_bus, options);
        _cleanup.Add(consumer);
        await consumer.StartAsync();
        return consumer;
    }

    private async Task<Event> DeadLetterAsync(PostgresConsumer consumer)
    {
        var before = consumer.Statistics.DeadLettered;
        var @event = _bus.Publish("orders", new Order(13));
        await Wait.UntilAsync(() => consumer.Statistics.DeadLettered == before + 1, "the event is dead-lettered");
        return @event;
    }

    private Task FixTheCauseAsync(string table) =>
        Sql.ExecuteAsync(database.ConnectionString, $"alter table {_schema}.{table} drop constraint refused");

    [Fact]
    public async Task DeadLetters_ListWithReasonAndCount_ByTopicAndPage()
    {
        var consumer = await RefusingThirteenAsync("listed");
        var first = await DeadLetterAsync(consumer);
        await DeadLetterAsync(consumer);
        await using var host = await DashboardHost.StartAsync(s => s.AddSingleton(_bus).AddSingleton(consumer));

        var list = await host.GetJsonAsync("/api/dead-letters?perPage=1");
        list.GetProperty("total").GetInt64().Should().Be(2);
        var letter = list.GetProperty("deadLetters").EnumerateArray().Should().ContainSingle().Subject;
        letter.Str("topic").Should().Be("orders");
        letter.Str("reason").Should().Contain("23514", "the reason names what PostgreSQL refused");
        letter.GetProperty("attempts").GetInt32().Should().Be(1);

        (await host.GetJsonAsync("/api/dead-letters?topic=refunds")).GetProperty("total").GetInt64().Should().Be(0);
        (await host.GetJsonAsync("/api/dead-letters?page=2&perPage=1")).GetProperty("deadLetters").GetArrayLength().Should().Be(1);
        (await host.GetJsonAsync("/api/dead-letters?page=0", HttpStatusCode.BadRequest)).GetProperty("detail").GetString().Should().Contain("page");
        first.Id.Should().NotBeEmpty();
    }

    [Fact]
    public async Task Replay_ActionsOn_ThroughTheConsumer_StoresTheEventAndRemovesTheDeadLetter()
    {
        var consumer = await RefusingThirteenAsync("replayed");
        var @event = await DeadLetterAsync(consumer);
        await FixTheCauseAsync("replayed");
        await using var host = await DashboardHost.StartAsync(s => s.AddSingleton(_bus).AddSingleton(consumer), o => o.EnableActions = true);
        var seen = new List<Event>();
        using var _ = _bus.Topic("orders").Subscribe(seen.Add);

        using var response = await host.PostActionAsync($"/api/dead-letters/{@event.Id}/replay", origin: "http://localhost");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var answer = await response.ReadJsonAsync();
        answer.Str("outcome").Should().Be("replayed");
        answer.Str("through").Should().Be("bus");
        seen.Select(e => e.Id).Should().Equal([@event.Id], "through the consumer, this app's subscribers see it again");
        (await consumer.Store.FindAsync(@event.Id)).Should().NotBeNull();
        (await consumer.DeadLetterStore.FindAsync(@event.Id)).Should().BeNull();

        using var again = await host.PostActionAsync($"/api/dead-letters/{@event.Id}/replay");
        again.StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await again.ReadJsonAsync()).Str("outcome").Should().Be("notFound");
    }

    [Fact]
    public async Task Replay_StoresRegisteredAlone_GoesStraightIntoTheTable()
    {
        var consumer = await RefusingThirteenAsync("alone");
        var @event = await DeadLetterAsync(consumer);
        await FixTheCauseAsync("alone");
        var table = consumer.Table;
        await using var host = await DashboardHost.StartAsync(
            s => s.AddSingleton(_bus)
                .AddSingleton(new DeadLetterStore(database.DataSource, table, _bus.Scheduler))
                .AddSingleton(new EventStore(database.DataSource, table, new JsonEventSerializer(), _bus.Scheduler)),
            o => o.EnableActions = true);

        using var response = await host.PostActionAsync($"/api/dead-letters/{@event.Id}/replay");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var answer = await response.ReadJsonAsync();
        answer.Str("outcome").Should().Be("replayed");
        answer.Str("through").Should().Be("table");
        (await host.GetJsonAsync($"/api/stored/events/{@event.Id}")).GetProperty("data").GetProperty("Number").GetInt32().Should().Be(13);
        (await host.GetJsonAsync("/api/overview")).GetProperty("consumer").ValueKind.Should().Be(System.Text.Json.JsonValueKind.Null);
    }

    [Fact]
    public async Task Purge_ActionsOn_RemovesTheDeadLetter_ThenIs404()
    {
        var consumer = await RefusingThirteenAsync("purged");
        var @event = await DeadLetterAsync(consumer);
        await using var host = await DashboardHost.StartAsync(s => s.AddSingleton(_bus).AddSingleton(consumer), o => o.EnableActions = true);

        using var response = await host.PostActionAsync($"/api/dead-letters/{@event.Id}/purge");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        (await response.ReadJsonAsync()).Str("outcome").Should().Be("purged");
        (await consumer.DeadLetterStore.FindAsync(@event.Id)).Should().BeNull();
        (await consumer.Store.FindAsync(@event.Id)).Should().BeNull("a purge stores nothing");
        using var again = await host.PostActionAsync($"/api/dead-letters/{@event.Id}/purge");
        again.StatusCode.Should().Be(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Actions_Off_TheDeadLetterStays()
    {
        var consumer = await RefusingThirteenAsync("kept");
        var @event = await DeadLetterAsync(consumer);
        await using var host = await DashboardHost.StartAsync(s => s.AddSingleton(_bus).AddSingleton(consumer));

        using var purge = await host.PostActionAsync($"/api/dead-letters/{@event.Id}/purge");
        using var replay = await host.PostActionAsync($"/api/dead-letters/{@event.Id}/replay");

        purge.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        replay.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await consumer.DeadLetterStore.FindAsync(@event.Id)).Should().NotBeNull();
    }
}
