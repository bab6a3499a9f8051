using System.Reactive.Concurrency;
using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using RxEventBus.Postgres;

namespace RxEventBus.Hosting.Tests;

// What AddRxEventBus and AddPostgresPersistence register, and how the settings are read. No database.
public sealed class ServiceRegistrationTests
{
    private const string Url = "postgres://app:secret@db.example:5433/events";

    private static IConfiguration Configuration(params (string Key, string? Value)[] settings) =>
        new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))).Build();

    [Fact]
    public void AddRxEventBus_Configured_RegistersOneBusBuiltFromEverySettingAndDisposesIt()
    {
        var scheduler = new HistoricalScheduler(new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.Zero));
        var services = new ServiceCollection();
        services.AddRxEventBus(bus =>
        {
            bus.Scheduler = scheduler;
            bus.Topics.Add("orders");
            bus.DefaultSource = "shop";
        });
        services.AddRxEventBus(bus => bus.Topics.Add("payments")); // settings add up; still one bus

        EventBus bus;
        using (var provider = services.BuildServiceProvider())
        {
            bus = provider.GetRequiredService<EventBus>();
            provider.GetRequiredService<EventBus>().Should().BeSameAs(bus);
            bus.Topics.Should().Equal(["orders", "payments"]);
            bus.Scheduler.Should().BeSameAs(scheduler);
            bus.Publish("orders", 1).Should().Match<Event>(e => e.Source == "shop" && e.OccurredAt == scheduler.Now);
        }

        var publish = () => bus.Publish("orders", 2);
        publish.Should().Throw<ObjectDisposedException>("the container owns the bus and disposes it");
    }

    [Fact]
    public void AddRxEventBus_NothingConfigured_BuildsTheDefaultBus()
    {
        using var provider = new ServiceCollection().AddRxEventBus().Services.BuildServiceProvider();

        var bus = provider.GetRequiredService<EventBus>();

        bus.Topics.Should().BeEmpty();
        bus.Options.AutoRegisterTopics.Should().BeFalse();
        bus.Scheduler.Should().BeSameAs(Scheduler.Default);
        bus.Options.RegexMatchTimeout.Should().Be(new EventBusOptions().RegexMatchTimeout);
    }

    [Fact]
    public void AddPostgresPersistence_ConfigurationKeys_AreReadByFromVariablesRules()
    {
        var configuration = Configuration(("EB_PG_DATABASE_URL", Url), ("EB_PG_POOL_SIZE", " 3 "), ("EB_PG_OVERFLOW", "drop_oldest"),
            ("EB_PG_TOPICS", "orders; payments"), ("EB_PG_BATCH_DELAY_IN_MS", "250"));
        using var provider = new ServiceCollection().AddRxEventBus().AddPostgresPersistence(configuration).Services.BuildServiceProvider();

        var options = provider.GetRequiredService<PostgresPersistenceOptions>();

        options.Should().BeEquivalentTo(PostgresPersistenceOptions.FromVariables(name => configuration[name]),
            "AddPostgresPersistence reads configuration exactly as FromVariables does");
        options.PoolSize.Should().Be(3);
        options.Overflow.Should().Be(OverflowPolicy.DropOldest);
        options.Topics.Should().Equal(["orders", "payments"]);
        options.MaxBatchDelay.Should().Be(TimeSpan.FromMilliseconds(250));
        options.ConnectionString.Should().Contain("Host=db.example").And.Contain("Port=5433");
    }

    [Fact]
    public void AddPostgresPersistence_NoConfigurationGiven_ReadsTheContainersConfiguration()
    {
        var services = new ServiceCollection();
        services.AddSingleton(Configuration(("EB_PG_DATABASE_URL", Url), ("EB_PG_TABLE", "from_the_host")));
        using var provider = services.AddRxEventBus().AddPostgresPersistence().Services.BuildServiceProvider();

        provider.GetRequiredService<PostgresPersistenceOptions>().Table.Should().Be("from_the_host");
    }

    [Fact]
    public void AddPostgresPersistence_CodeSettings_WinOverConfigurationAndMayGiveTheDatabase()
    {
        var serializer = new JsonEventSerializer();
        var configuration = Configuration(("EB_PG_TABLE", "configured"), ("EB_PG_POOL_SIZE", "2"));
        using var provider = new ServiceCollection().AddRxEventBus()
            .AddPostgresPersistence(configuration, options =>
            {
                options.ConnectionString = "Host=db.example;Username=app";
                options.Table = "from_code";
                options.Topics.Clear();
                options.Topics.Add("^orders$");
                options.Serializer = serializer;
            })
            .Services.BuildServiceProvider();

        var options = provider.GetRequiredService<PostgresPersistenceOptions>();

        options.ConnectionString.Should().Be("Host=db.example;Username=app", "code may give the database that configuration does not");
        options.Table.Should().Be("from_code", "code wins over configuration");
        options.PoolSize.Should().Be(2, "what code leaves alone keeps its configured value");
        options.Topics.Should().Equal(["^orders$"]);
        options.Serializer.Should().BeSameAs(serializer);
    }

    [Fact]
    public void AddPostgresPersistence_NoDatabaseAnywhere_FailsNamingTheVariable()
    {
        using var provider = new ServiceCollection().AddRxEventBus()
            .AddPostgresPersistence(Configuration(), options => options.Table = "t")
            .Services.BuildServiceProvider();

        var resolve = () => provider.GetRequiredService<PostgresPersistenceOptions>();

        resolve.Should().Throw<ArgumentException>().WithMessage("*EB_PG_DATABASE_URL*required*");
    }

    [Fact]
    public void AddPostgresPersistence_DisabledWithoutDatabase_CodeChangesNeedNoDatabaseAndNoConsumerIsMade()
    {
        // Disabled, the writers-per-connection rule is not checked by FromVariables; code changes keep it so.
        var configuration = Configuration(("EB_PG_ENABLED", "false"), ("EB_PG_POOL_SIZE", "20"));
        using var provider = new ServiceCollection().AddRxEventBus()
            .AddPostgresPersistence(configuration, options => options.Table = "unused")
            .Services.BuildServiceProvider();

        var service = provider.GetRequiredService<PostgresPersistenceService>();

        service.Options.Should().Match<PostgresPersistenceOptions>(o => !o.Enabled && o.ConnectionString == "" && o.Table == "unused");
        service.Consumer.Should().BeNull("a disabled consumer is never made, so it needs no database");
    }

    [Fact]
    public void AddPostgresPersistence_CodeAndConfigurationUnchanged_GivesExactlyWhatFromVariablesGives()
    {
        // Every variable set to a value other than its default: a setting the builder forgot to carry over
        // from configuration, or back into the options, would show here.
        var configuration = Configuration(
            ("EB_PG_ENABLED", "true"), ("EB_PG_DATABASE_URL", Url), ("EB_PG_DATABASE_POOL_SIZE", "7"), ("EB_PG_TOPICS", "a;b"),
            ("EB_PG_BUFFER_SIZE", "33"), ("EB_PG_OVERFLOW", "fail"), ("EB_PG_POOL_SIZE", "3"), ("EB_PG_MAX_DEMAND", "44"),
            ("EB_PG_MIN_DEMAND", "5"), ("EB_PG_BATCH_DELAY_IN_MS", "66"), ("EB_PG_AUTO_DELETE_WITH_TTL", "false"),
            ("EB_PG_DEFAULT_TTL_IN_MS", "77"), ("EB_PG_DELETION_PERIOD_IN_MS", "88"), ("EB_PG_SCHEMA", "bus"), ("EB_PG_TABLE", "log"),
            ("EB_PG_ENSURE_SCHEMA", "false"));
        using var provider = new ServiceCollection().AddRxEventBus().AddPostgresPersistence(configuration, _ => { })
            .Services.BuildServiceProvider();

        var options = provider.GetRequiredService<PostgresPersistenceOptions>();

        options.Should().BeEquivalentTo(PostgresPersistenceOptions.FromVariables(name => configuration[name]),
            o => o.Excluding(x => x.Serializer));
        options.Serializer.Should().BeOfType<JsonEventSerializer>();
    }

    [Fact]
    public void PostgresPersistenceOptionsBuilder_EverySetting_HasASettablePropertyOfTheSameName()
    {
        var settings = typeof(PostgresPersistenceOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance);
        var builder = typeof(PostgresPersistenceOptionsBuilder);

        settings.Should().OnlyContain(p => builder.GetProperty(p.Name) != null,
            "a setting added to PostgresPersistenceOptions must be settable in code through AddPostgresPersistence too");
        settings.Where(p => p.PropertyType != typeof(IReadOnlyList<string>))
            .Should().OnlyContain(p => builder.GetProperty(p.Name)!.PropertyType == p.PropertyType && builder.GetProperty(p.Name)!.CanWrite);
    }

    [Fact]
    public void AddPostgresPersistence_Twice_IsRefused()
    {
        var bus = new ServiceCollection().AddRxEventBus().AddPostgresPersistence();

        var again = () => bus.AddPostgresPersistence();

        again.Should().Throw<InvalidOperationException>().WithMessage("*already*");
    }

    [Fact]
    public void AddPostgresPersistence_Registered_TheServiceIsTheHostedOne()
    {
        using var provider = new ServiceCollection().AddLogging().AddRxEventBus()
            .AddPostgresPersistence(Configuration(("EB_PG_DATABASE_URL", Url)))
            .Services.BuildServiceProvider();

        var hosted = provider.GetServices<IHostedService>();

        hosted.Should().ContainSingle().Which.Should().BeSameAs(provider.GetRequiredService<PostgresPersistenceService>(),
            "the service injected to reach the consumer is the one the host runs");
        provider.GetRequiredService<PostgresPersistenceService>().Consumer!.Table.QualifiedName.Should().Be("\"public\".\"events\"");
    }
}
