using Npgsql;
using RxEventBus.Postgres.Embedded;
using RxEventBus.Postgres.Tests.Support;
using RxEventBus.Tests.Common;

namespace RxEventBus.Postgres.Tests.Reliability;

// Faults of the server itself: each test owns a cluster it may stop and start. Real time: the writers
// must really meet a dead server; the test never waits on the clock, only on states it can observe.
public sealed class ServerFaultTests : IAsyncLifetime
{
    // Servers are stopped and started under test: states may take longer to reach than elsewhere.
    private static readonly TimeSpan ServerPatience = TimeSpan.FromMinutes(2);

    private EmbeddedPostgres _server = null!;

    public async Task InitializeAsync() => _server = await EmbeddedPostgres.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private PostgresPersistenceOptions Options(int bufferSize, OverflowPolicy overflow = OverflowPolicy.Wait) => new()
    {
        ConnectionString = new NpgsqlConnectionStringBuilder(_server.ConnectionString) { Timeout = 3 }.ConnectionString,
        Table = "faults",
        MaxBatchSize = 1_000,
        BufferSize = bufferSize,
        PoolSize = 2,
        Overflow = overflow,
        MaxBatchDelay = TimeSpan.FromMilliseconds(10),
        InitialRetryDelay = TimeSpan.FromMilliseconds(20),
        MaxRetryDelay = TimeSpan.FromMilliseconds(500),

        // These tests hold publishers back while the server is away, on a loaded machine for up to ServerPatience:
        // the publish timeout must not end the wait first.
        PublishTimeout = ServerPatience * 3,
    };

    private Task<long> CountAsync(string where = "true") =>
        Sql.ScalarAsync<long>(_server.ConnectionString, $"select count(*) from faults where {where}");


    [Fact]
    public async Task Consumer_ServerStoppedImmediatelyMidStreamThenStarted_EveryEventStoredOnceWithoutARestart()
    {
        using var bus = new EventBus(new EventBusOptions { Topics = ["orders"] });
        await using var consumer = new PostgresConsumer(bus, Options(bufferSize: 5_000));
        await consumer.StartAsync();
        const int count = 200_000;
        var publishing = Task.Run(() =>
        {
            for (var i = 0; i < count; i++)
            {
                bus.Publish("orders", new { Number = i });
            }
        });

        await Wait.UntilAsync(() => consumer.Statistics.Persisted >= 20_000, "the stream should be flowing before the crash", ServerPatience);
        await _server.StopAsync(immediate: true);
        // Publishers blocked on a full buffer are woken once half of it is free: above half, nothing drains.
        await Wait.UntilAsync(
            () => consumer.Statistics.Retries > 0 && consumer.Statistics.Buffered > 2_500 && !publishing.IsCompleted,
            "with the server gone the writers retry, the buffer fills and publishers wait",
            ServerPatience);
        var pending = bus.Diagnostics.PendingEvents; // read first: what leaves the buffer meanwhile stays in the bound
        pending.Should().BeLessThanOrEqualTo(
            consumer.Statistics.Buffered + (2 + 2) * 1_000 + 1 + 1,
            "memory is bounded: besides the buffer, one batch per writer (2), one cut ahead, one being cut, the " +
            "batcher's one step ahead, and the blocked publisher's own event");
        await _server.StartAsync();
        await publishing.WaitAsync(TimeSpan.FromMinutes(5));
        await consumer.StopWithinAsync();

        consumer.Statistics.Retries.Should().BePositive("writes failed while the server was down");
        consumer.Statistics.Persisted.Should().Be(count, "the same consumer caught up by itself after the restart");
        (await CountAsync()).Should().Be(count, "every event is in the table");
        (await CountAsync("id in (select id from faults group by id having count(*) > 1)")).Should().Be(0, "none twice");
        bus.Diagnostics.PendingEvents.Should().Be(0);
    }

    [Fact]
    public async Task Consumer_StartedWhileServerDown_BuffersWithinItsBoundAndCatchesUp()
    {
        await _server.StopAsync();
        using var bus = new EventBus(new EventBusOptions { Topics = ["orders"] });
        await using var consumer = new PostgresConsumer(bus, Options(bufferSize: 100));
        await consumer.StartAsync();

        var first = Enumerable.Range(0, 100).Select(i => bus.Publish("orders", new { Number = i })).ToList();
        var blocked = Task.Run(() => bus.Publish("orders", new { Number = 100 }));
        await Wait.UntilAsync(() => consumer.Statistics.Buffered == 100 && consumer.Statistics.Retries > 0, "the schema cannot be created yet", ServerPatience);
        blocked.IsCompleted.Should().BeFalse("with the buffer full, the Wait policy holds the publisher back");

        await _server.StartAsync();
        var last = await blocked.WaitAsync(TimeSpan.FromMinutes(1));
        await consumer.StopWithinAsync();

        (await CountAsync()).Should().Be(101, "everything buffered while the server was away is written once it is there");
        (await CountAsync($"id = '{last.Id}' or id = '{first[0].Id}'")).Should().Be(2);
    }

    [Fact]
    public async Task Consumer_StartedWhileServerDownWithDropNewest_CountsWhatItDrops()
    {
        await _server.StopAsync();
        using var bus = new EventBus(new EventBusOptions { Topics = ["orders"] });
        await using var consumer = new PostgresConsumer(bus, Options(bufferSize: 100, OverflowPolicy.DropNewest));
        await consumer.StartAsync();
        await Wait.UntilAsync(() => consumer.Statistics.Retries > 0, "the consumer is waiting for the server", ServerPatience);

        Enumerable.Range(0, 150).ToList().ForEach(i => bus.Publish("orders", new { Number = i }));
        await _server.StartAsync();
        await consumer.StopWithinAsync();

        consumer.Statistics.Dropped.Should().Be(50, "the buffer holds 100; the other 50 were dropped, and counted");
        (await CountAsync()).Should().Be(100);
        bus.Diagnostics.PendingEvents.Should().Be(0, "dropped events are answered on the bus, not left pending");
    }
}
