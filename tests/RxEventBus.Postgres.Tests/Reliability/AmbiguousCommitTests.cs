using Npgsql;
using RxEventBus.Postgres.Tests.Support;
using RxEventBus.Tests.Common;

namespace RxEventBus.Postgres.Tests.Reliability;

[Collection(SharedPostgres.Name)]
public sealed class AmbiguousCommitTests(PostgresFixture database) : IAsyncLifetime
{
    private string _schema = "";

    public async Task InitializeAsync() => _schema = await database.CreateSchemaAsync(nameof(AmbiguousCommitTests));

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Write_CommitAnswerLost_RetryDoesNotDuplicateRows()
    {
        var direct = new NpgsqlConnectionStringBuilder(database.ConnectionString);
        await using var proxy = new CommitAnswerDroppingProxy(direct.Host!, direct.Port);
        var throughProxy = new NpgsqlConnectionStringBuilder(database.ConnectionString) { Host = "127.0.0.1", Port = proxy.Port, Pooling = false };
        var table = new EventTable(_schema, "ambiguous");
        await SchemaManager.EnsureSchemaAsync(database.DataSource, table);
        using var bus = new EventBus(new EventBusOptions { Topics = ["orders"] });
        await using var consumer = new PostgresConsumer(bus, new PostgresPersistenceOptions
        {
            ConnectionString = throughProxy.ConnectionString,
            Schema = _schema,
            Table = "ambiguous",
            EnsureSchema = false,
            MaxBatchSize = 500,
            BufferSize = 5_000,
            MaxBatchDelay = TimeSpan.FromMilliseconds(5),
            InitialRetryDelay = TimeSpan.FromMilliseconds(10),
        });
        await consumer.StartAsync();
        proxy.Arm(3);

        var ids = Enumerable.Range(0, 3_000).Select(i => bus.Publish("orders", new { Number = i }).Id).ToList();
        await consumer.StopWithinAsync();

        proxy.Dropped.Should().Be(3, "three commits were made ambiguous");
        consumer.Statistics.Retries.Should().BeGreaterThanOrEqualTo(3, "each ambiguous batch was written again");
        consumer.Statistics.Duplicates.Should().BePositive("the rewrite met the rows its lost commit had stored, and skipped them");
        (await Sql.ScalarAsync<long>(database.ConnectionString, $"select count(*) from {table.QualifiedName}")).Should().Be(3_000,
            "the rewrite of an already committed batch adds no row");
        (await Sql.ScalarAsync<long>(database.ConnectionString, $"select count(distinct id) from {table.QualifiedName}")).Should().Be(3_000);
        consumer.Statistics.Persisted.Should().Be(ids.Count);
        bus.Diagnostics.PendingEvents.Should().Be(0);
    }
}
