using Microsoft.Extensions.Logging;
using Npgsql;
using RxEventBus.Postgres.Tests.Support;
using RxEventBus.Tests.Common;

namespace RxEventBus.Postgres.Tests.Reliability;

[Collection(SharedPostgres.Name)]
public sealed class SecurityTests(PostgresFixture database) : IAsyncLifetime
{
    private const string Secret = "S3cret-P@ss-never-printed";
    private string _schema = "";

    public async Task InitializeAsync() => _schema = await database.CreateSchemaAsync(nameof(SecurityTests));

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Consumer_CannotConnect_LogsAndErrorsNeverContainThePassword()
    {
        var logs = new CapturingLogger();
        using var bus = new EventBus(new EventBusOptions { Topics = ["orders"] });
        var url = new NpgsqlConnectionStringBuilder(database.ConnectionString) { Username = "nobody_here", Password = Secret }.ConnectionString;
        var options = new PostgresPersistenceOptions
        {
            ConnectionString = DatabaseUrl.ToConnectionString(url),
            Schema = _schema,
            ShutdownTimeout = TimeSpan.FromMilliseconds(200), // nothing can be written: do not wait for it
        };
        await using var consumer = new PostgresConsumer(bus, options, logger: logs);
        await consumer.StartAsync();
        bus.Publish("orders", new { Number = 1 });

        (await Task.Run(() => SpinWait.SpinUntil(() => consumer.Statistics.Retries >= 2, TimeSpan.FromMinutes(1))))
            .Should().BeTrue("the consumer keeps trying to reach the database");
        await consumer.DisposeAsync();

        logs.Lines.Should().Contain(l => l.Contains("nobody_here", StringComparison.Ordinal), "the failure is logged with its reason");
        logs.Lines.Should().NotContain(l => l.Contains(Secret, StringComparison.Ordinal), "no log line or logged exception holds the password");
        options.ToString().Should().NotContain(Secret);
        DatabaseUrl.Redact(url).Should().NotContain(Secret);
    }

    [Fact]
    public async Task Consumer_RoleWithOnlyTheDocumentedGrants_WritesRetriesIdempotentlyAndDeletesExpired()
    {
        var role = "rxeb_writer_" + _schema[^8..];
        var table = new EventTable(_schema, "least");
        await SchemaManager.EnsureSchemaAsync(database.DataSource, table);
        // The GRANTs docs/schema.sql gives, for this schema and table.
        await Sql.ExecuteAsync(database.ConnectionString, $"""
            create role {role} login;
            grant usage on schema {_schema} to {role};
            grant select, insert, delete on table {table.QualifiedName} to {role};
            grant usage on sequence {table.Schema}.{table.PositionSequence} to {role};
            grant select, insert, update, delete on table {table.DeadLettersQualifiedName} to {role};
            grant select, insert, update, delete on table {table.SubscriptionsQualifiedName} to {role};
            """);
        var scheduler = new ThreadSafeTestScheduler();
        using var bus = new EventBus(new EventBusOptions { Topics = ["orders"], Scheduler = scheduler });
        var events = Enumerable.Range(0, 50).Select(i => bus.CreateEvent("orders", new { Number = i }) with { Ttl = TimeSpan.FromSeconds(1) }).ToList();

        for (var round = 0; round < 2; round++)
        {
            await using var consumer = new PostgresConsumer(bus, new PostgresPersistenceOptions
            {
                ConnectionString = new NpgsqlConnectionStringBuilder(database.ConnectionString) { Username = role }.ConnectionString,
                Schema = _schema,
                Table = "least",
                EnsureSchema = false,
                MaxBatchSize = 50,
                MaxBatchDelay = TimeSpan.FromHours(1),
            });
            await consumer.StartAsync();
            events.ForEach(bus.Publish);
            await consumer.StopWithinAsync();
            consumer.Statistics.Persisted.Should().Be(50);
            consumer.Statistics.Duplicates.Should().Be(round * 50, $"round {round}: the second round rewrites through a temp table, which needs no extra grant");
            if (round == 1)
            {
                scheduler.AdvanceBy(TimeSpan.FromSeconds(2));
                (await consumer.Store.DeleteExpiredAsync()).Should().Be(50, "DELETE is granted, so expired rows can go");
            }
        }
    }

    private sealed class CapturingLogger : ILogger
    {
        private readonly Lock _gate = new();
        private readonly List<string> _lines = [];

        public IReadOnlyList<string> Lines
        {
            get
            {
                using (_gate.EnterScope())
                {
                    return [.. _lines];
                }
            }
        }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            using (_gate.EnterScope())
            {
                _lines.Add($"{eventId} {formatter(state, exception)} {exception}");
            }
        }
    }
}
