using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using RxEventBus.Postgres;
using RxEventBus.Postgres.Tests.Support;

namespace RxEventBus.Hosting.Tests;

// The persistence consumer's health, as a host's health endpoint reports it.
[Collection(SharedPostgres.Name)]
public sealed class HealthCheckTests(PostgresFixture database) : IAsyncLifetime
{
    private string _schema = "";

    public async Task InitializeAsync() => _schema = await database.CreateSchemaAsync(nameof(HealthCheckTests));

    public Task DisposeAsync() => Task.CompletedTask;

    private IHost Host(string table, params (string Key, string? Value)[] settings)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        var configuration = new Dictionary<string, string?>
        {
            ["EB_PG_DATABASE_URL"] = database.ConnectionString,
            ["EB_PG_SCHEMA"] = _schema,
            ["EB_PG_TABLE"] = table,
            ["EB_PG_BATCH_DELAY_IN_MS"] = "10",
        };
        foreach (var (key, value) in settings)
        {
            configuration[key] = value;
        }

        builder.Configuration.AddInMemoryCollection(configuration);
        builder.Services.AddRxEventBus(bus => bus.Topics.Add("orders")).AddPostgresPersistence();
        builder.Services.AddHealthChecks().AddRxEventBusHealthCheck();
        return builder.Build();
    }

    private static async Task<HealthReportEntry> CheckAsync(IHost host) =>
        (await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync()).Entries["rxeventbus"];

    [Fact]
    public async Task Check_ConsumerWriting_IsHealthyWithQueueFillAndTimeSinceTheLastCommit()
    {
        using var host = Host("healthy", ("EB_PG_BUFFER_SIZE", "500"));
        await host.StartAsync();
        var consumer = host.Services.GetRequiredService<PostgresPersistenceService>().Consumer!;
        host.Services.GetRequiredService<EventBus>().Publish("orders", new { Number = 1 });
        await Wait.UntilAsync(() => consumer.Statistics.Persisted == 1, "the event is written");

        var entry = await CheckAsync(host);

        entry.Status.Should().Be(HealthStatus.Healthy);
        entry.Data["state"].Should().Be("Running");
        entry.Data["queue_capacity"].Should().Be(500);
        entry.Data["queue_fill"].Should().Be(0.0);
        entry.Data["persisted"].Should().Be(1L);
        ((double)entry.Data["seconds_since_last_commit"]).Should().BeInRange(0, 60);
        await host.StopAsync();

        (await CheckAsync(host)).Status.Should().Be(HealthStatus.Unhealthy, "a stopped consumer persists nothing");
    }

    [Fact]
    public async Task Check_DatabaseUnreachable_IsDegradedWithTheReason()
    {
        using var host = Host("unreachable", ("EB_PG_DATABASE_URL", "Host=127.0.0.1;Port=1;Username=nobody;Timeout=1"), ("EB_PG_ENSURE_SCHEMA", "false"));
        await host.StartAsync();

        var entry = await CheckAsync(host);

        entry.Status.Should().Be(HealthStatus.Degraded, "the consumer keeps the events and retries, but is not writing");
        entry.Description.Should().Contain("Retrying").And.Contain("events table");
        entry.Exception.Should().NotBeNull("the error behind the state is attached");
        entry.Data.Should().NotContainKey("seconds_since_last_commit", "nothing was ever committed");
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await host.StopAsync(stop.Token);
    }

    [Fact]
    public async Task Check_ConsumerFaulted_IsUnhealthyWithTheFault()
    {
        using var host = Host("faulted");
        var bus = host.Services.GetRequiredService<EventBus>();
        using var squatter = bus.Tracked("postgres", ".*").Subscribe(e => e.MarkCompleted());

        await host.Invoking(h => h.StartAsync()).Should().ThrowAsync<InvalidOperationException>();
        var entry = await CheckAsync(host);

        entry.Status.Should().Be(HealthStatus.Unhealthy);
        entry.Description.Should().Contain("faulted").And.Contain("'postgres'");
        entry.Exception.Should().BeOfType<InvalidOperationException>();
    }

    [Fact]
    public async Task Check_PersistenceDisabled_IsHealthyAndSaysSo()
    {
        using var host = Host("disabled", ("EB_PG_ENABLED", "false"));
        await host.StartAsync();

        var entry = await CheckAsync(host);

        entry.Status.Should().Be(HealthStatus.Healthy);
        entry.Description.Should().Contain("disabled");
        await host.StopAsync();
    }
}
