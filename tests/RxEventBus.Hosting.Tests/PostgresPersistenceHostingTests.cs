using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RxEventBus.Hosting.Tests.Support;
using RxEventBus.Postgres;
using RxEventBus.Postgres.Tests.Support;
using RxEventBus.Tests.Common;

namespace RxEventBus.Hosting.Tests;

// A real host, a real database: the persistence consumer lives and dies with the host.
[Collection(SharedPostgres.Name)]
public sealed class PostgresPersistenceHostingTests(PostgresFixture database) : IAsyncLifetime
{
    private string _schema = "";

    public async Task InitializeAsync() => _schema = await database.CreateSchemaAsync(nameof(PostgresPersistenceHostingTests));

    public Task DisposeAsync() => Task.CompletedTask;

    private HostApplicationBuilder Builder(string table, params (string Key, string? Value)[] settings)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        var configuration = new Dictionary<string, string?>
        {
            ["EB_PG_DATABASE_URL"] = database.ConnectionString,
            ["EB_PG_SCHEMA"] = _schema,
            ["EB_PG_TABLE"] = table,
        };
        foreach (var (key, value) in settings)
        {
            configuration[key] = value;
        }

        builder.Configuration.AddInMemoryCollection(configuration);
        return builder;
    }

    private Task<long> CountRowsAsync(string table) =>
        Sql.ScalarAsync<long>(database.ConnectionString, $"select count(*) from {_schema}.{table}");

    [Fact]
    public async Task HostStartPublishStop_EveryEventIsInTheTable()
    {
        // An hour's batch delay: nothing is written until the host's shutdown flushes the partial batch.
        var builder = Builder("hosted", ("EB_PG_BATCH_DELAY_IN_MS", "3600000"), ("EB_PG_MAX_DEMAND", "1000"));
        builder.Services.AddRxEventBus(bus => bus.Topics.Add("orders")).AddPostgresPersistence();
        using var host = builder.Build();

        await host.StartAsync();
        var bus = host.Services.GetRequiredService<EventBus>();
        var published = Enumerable.Range(0, 10).Select(i => bus.Publish("orders", new Order(i))).ToList();
        await host.StopAsync();

        (await CountRowsAsync("hosted")).Should().Be(10, "stopping the host drains the consumer and flushes its last batch");
        var consumer = host.Services.GetRequiredService<PostgresPersistenceService>().Consumer!;
        consumer.Statistics.Persisted.Should().Be(10);
        consumer.Unwritten.Should().BeEmpty();
        bus.Diagnostics.PendingEvents.Should().Be(0, "every event was acknowledged after its commit");
        published.Should().HaveCount(10);
    }

    [Fact]
    public async Task HostStart_BadPoolSizeInConfiguration_FailsNamingTheVariable()
    {
        var builder = Builder("bad_pool", ("EB_PG_POOL_SIZE", "abc"));
        builder.Services.AddRxEventBus(bus => bus.Topics.Add("orders")).AddPostgresPersistence();
        using var host = builder.Build();

        var start = () => host.StartAsync();

        (await start.Should().ThrowAsync<PostgresConfigurationException>())
            .Which.Should().Match<PostgresConfigurationException>(e => e.Variable == "EB_PG_POOL_SIZE")
            .And.Subject.As<Exception>().Message.Should().Be("EB_PG_POOL_SIZE must be a positive whole number (e.g. 4), but is 'abc'.",
                "the host reports the same message FromVariables gives");
    }

    [Fact]
    public async Task HostStart_BadPoolSizeInEnvironmentVariables_FailsNamingTheVariable()
    {
        // A prefix of this test's own keeps the process-wide environment from reaching any other test.
        var prefix = $"RXEB_HOSTING_{Guid.NewGuid():N}_";
        Environment.SetEnvironmentVariable(prefix + "EB_PG_POOL_SIZE", "0");
        try
        {
            var builder = Builder("env_pool");
            builder.Configuration.AddEnvironmentVariables(prefix);
            builder.Services.AddRxEventBus(bus => bus.Topics.Add("orders")).AddPostgresPersistence();
            using var host = builder.Build();

            var start = () => host.StartAsync();

            (await start.Should().ThrowAsync<PostgresConfigurationException>().WithMessage("EB_PG_POOL_SIZE must be*'0'*"))
                .Which.Variable.Should().Be("EB_PG_POOL_SIZE");
        }
        finally
        {
            Environment.SetEnvironmentVariable(prefix + "EB_PG_POOL_SIZE", null);
        }
    }

    [Fact]
    public async Task HostStart_InvalidValueSetInCode_FailsNamingTheVariable()
    {
        var builder = Builder("bad_code");
        builder.Services.AddRxEventBus(bus => bus.Topics.Add("orders"))
            .AddPostgresPersistence(configure: options => options.PoolSize = 20);
        using var host = builder.Build();

        var start = () => host.StartAsync();

        (await start.Should().ThrowAsync<OptionsValidationException>())
            .Which.Message.Should().Be("PoolSize/EB_PG_POOL_SIZE must not exceed DatabasePoolSize/EB_PG_DATABASE_POOL_SIZE (10), since each writer holds a connection, but is '20'.");
    }

    [Fact]
    public async Task HostStop_DatabaseUnreachable_TheHostsShutdownTimeoutEndsTheDrain()
    {
        // Nothing runs on a frozen clock: the consumer never retries and never reaches its own 30 s shutdown
        // timeout. Only the host's shutdown token can end its drain, so StopAsync returning proves it does.
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["EB_PG_DATABASE_URL"] = "postgres://nobody:secret@127.0.0.1:1/none?connect_timeout=1",
            ["EB_PG_ENSURE_SCHEMA"] = "false",
            ["EB_PG_MAX_DEMAND"] = "2",
        });
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(1));
        builder.Services.AddRxEventBus(bus =>
        {
            bus.Topics.Add("orders");
            bus.Scheduler = new FrozenScheduler();
        }).AddPostgresPersistence();
        using var host = builder.Build();
        await host.StartAsync();
        var bus = host.Services.GetRequiredService<EventBus>();
        var published = Enumerable.Range(0, 5).Select(i => bus.Publish("orders", new Order(i))).ToList();

        await host.StopAsync().WaitAsync(TimeSpan.FromMinutes(1)); // a safety net against a hang, not a measurement

        host.Services.GetRequiredService<PostgresPersistenceService>().Consumer!.Unwritten.Select(e => e.Id)
            .Should().BeEquivalentTo(published.Select(e => e.Id), "what the shutdown left unwritten is reported, not lost silently");
    }

    [Fact]
    public async Task HostStartAndStop_WorkerRegisteredFirst_ItsEventsFromStartAndStopArePersisted()
    {
        var builder = Builder("lifecycle");
        builder.Services.AddHostedService(provider => new PublishingWorker(provider.GetRequiredService<EventBus>()));
        builder.Services.AddRxEventBus(bus => bus.Topics.Add("orders")).AddPostgresPersistence();
        using var host = builder.Build();

        await host.StartAsync();
        await host.StopAsync();

        (await Sql.ScalarAsync<string>(database.ConnectionString, $"select string_agg(convert_from(data, 'UTF8')::jsonb->>'Number', ',' order by (convert_from(data, 'UTF8')::jsonb->>'Number')::int) from {_schema}.lifecycle"))
            .Should().Be("1,2", "the consumer starts before any hosted service starts and drains after every one has stopped");
    }

    [Fact]
    public async Task HostStart_PersistenceDisabled_StartsWithoutADatabaseAndSaysSo()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["EB_PG_ENABLED"] = "false" });
        var logs = new ListLoggerProvider();
        builder.Logging.AddProvider(logs);
        builder.Services.AddRxEventBus(bus => bus.Topics.Add("orders")).AddPostgresPersistence();
        using var host = builder.Build();

        await host.StartAsync();
        host.Services.GetRequiredService<EventBus>().Publish("orders", new Order(1));
        await host.StopAsync();

        host.Services.GetRequiredService<PostgresPersistenceService>().Consumer.Should().BeNull();
        logs.Entries.Should().ContainSingle(e => e.EventId.Id == 100 && e.Category == "RxEventBus.Hosting.PostgresPersistenceService");
    }

    [Fact]
    public async Task HostStartAndStop_Logged_WithTheConsumersEventIdsAndNoPassword()
    {
        // The test server trusts local connections, so a password given is never checked: a marker to look for.
        var withPassword = new Npgsql.NpgsqlConnectionStringBuilder(database.ConnectionString) { Password = "hunter2-marker" };
        var builder = Builder("logged", ("EB_PG_DATABASE_URL", withPassword.ConnectionString));
        var logs = new ListLoggerProvider();
        builder.Logging.AddProvider(logs).SetMinimumLevel(LogLevel.Debug);
        builder.Services.AddRxEventBus(bus => bus.Topics.Add("orders")).AddPostgresPersistence();
        using var host = builder.Build();

        await host.StartAsync();
        host.Services.GetRequiredService<EventBus>().Publish("orders", new Order(1));
        await host.StopAsync();

        // Id 17 (what the start created in the database) is left out: how many tables and indexes that is, is the
        // schema's business, not the host's.
        logs.Entries.Where(e => e.Category.StartsWith("RxEventBus", StringComparison.Ordinal) && e.EventId.Id != 17).Select(e => (e.Category, e.EventId.Id))
            .Should().Equal(
                [
                    ("RxEventBus.Hosting.PostgresPersistenceService", 101),
                    ("RxEventBus.Postgres.PostgresConsumer", 4),
                    ("RxEventBus.Postgres.PostgresConsumer", 12),
                    ("RxEventBus.Postgres.PostgresConsumer", 13),
                ],
                "the consumer logs through ILogger<PostgresConsumer> from the host's logging");
        logs.Entries.Should().NotContain(e => e.Message.Contains("hunter2", StringComparison.Ordinal), "the options are logged without the password");
    }

    private sealed record Order(int Number);

    // Registered before the persistence: a plain IHostedService starts after it and stops before it only
    // because the consumer runs on the host's lifecycle events.
    private sealed class PublishingWorker(EventBus bus) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            bus.Publish("orders", new Order(1));
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken)
        {
            bus.Publish("orders", new Order(2));
            return Task.CompletedTask;
        }
    }
}
