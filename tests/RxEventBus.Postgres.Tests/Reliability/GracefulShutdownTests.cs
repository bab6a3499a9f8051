using Npgsql;
using RxEventBus.Postgres.Tests.Support;

namespace RxEventBus.Postgres.Tests.Reliability;

[Collection(SharedPostgres.Name)]
public sealed class GracefulShutdownTests(PostgresFixture database) : IAsyncLifetime
{
    private string _schema = "";

    public async Task InitializeAsync() => _schema = await database.CreateSchemaAsync(nameof(GracefulShutdownTests));

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task DisposeAsync_WhileEventsStillArrive_EveryAcceptedEventIsStoredAndLaterOnesAreRefused()
    {
        using var bus = new EventBus(new EventBusOptions { Topics = ["orders"] });
        var consumer = new PostgresConsumer(bus, new PostgresPersistenceOptions
        {
            ConnectionString = database.ConnectionString,
            Schema = _schema,
            Table = "shutdown",
            MaxBatchSize = 500,
            BufferSize = 2_000,
            PoolSize = 2,
            MaxBatchDelay = TimeSpan.FromMilliseconds(10),
        });
        await consumer.StartAsync();
        var accepted = new List<Guid>();
        Exception? refusal = null;
        var publishing = Task.Run(() =>
        {
            for (var i = 0; ; i++)
            {
                try
                {
                    accepted.Add(bus.Publish("orders", new { Number = i }).Id);
                }
                catch (EventRejectedException e)
                {
                    refusal = e;
                    return;
                }
            }
        });

        (await Task.Run(() => SpinWait.SpinUntil(() => consumer.Statistics.Persisted >= 5_000, TimeSpan.FromMinutes(2))))
            .Should().BeTrue("the stream should be flowing when the stop comes");
        var stop = consumer.StopAsync();
        await publishing.WaitAsync(TimeSpan.FromMinutes(2));
        await stop;
        await consumer.DisposeAsync();

        refusal.Should().NotBeNull("the publisher must hear that the consumer stopped");
        refusal!.Message.Should().Contain("stopping", "a late event gets a clear error");
        consumer.Unwritten.Should().BeEmpty();
        await using var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand($"select count(*) from {_schema}.shutdown where id = any(@ids)", connection)
        {
            Parameters = { new NpgsqlParameter<Guid[]>("ids", [.. accepted]) },
        };
        ((long)(await count.ExecuteScalarAsync())!).Should().Be(accepted.Count, "every event Publish accepted before the stop is in the table");
        await using var all = new NpgsqlCommand($"select count(*) from {_schema}.shutdown", connection);
        ((long)(await all.ExecuteScalarAsync())!).Should().Be(accepted.Count, "and nothing else");
    }
}
