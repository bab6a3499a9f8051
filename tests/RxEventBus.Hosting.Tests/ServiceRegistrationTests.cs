using System.Reactive.Concurrency;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using RxEventBus.Postgres;

namespace RxEventBus.Hosting.Tests;

// What AddRxEventBus and AddPostgresPersistence register, and how the settings are read. No database.
public sealed class ServiceRegistrationTests
{
    private const string Url = "postgres://app:secret@db.example:5433/events";

    private static IConfiguration Configuration(params (string Key, string? Value)[] settings) =>
        new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))).Build();

    // A host with these settings as its configuration, the bus and (if asked) the persistence added, not started.
    private static IHost StartableHost(bool persistence, params (string Key, string? Value)[] settings)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)));
        var bus = builder.Services.AddRxEventBus();
        if (persistence)
        {
            bus.AddPostgresPersistence();
        }

        return builder.Build();
    }

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
        var configuration = Configuration(("EB_PG_TABLE", "configured"), ("EB_PG_POOL_SIZE", "3"));
        using var provider = new ServiceCollection().AddRxEventBus()
            .AddPostgresPersistence(configuration, options =>
            {
                options.ConnectionString = "Host=db.example;Username=app";
                options.Table = "from_code";
                options.Topics = ["^orders$"];
                options.Serializer = serializer;
            })
            .Services.BuildServiceProvider();

        var options = provider.GetRequiredService<PostgresPersistenceOptions>();

        options.ConnectionString.Should().Be("Host=db.example;Username=app", "code may give the database that configuration does not");
        options.Table.Should().Be("from_code", "code wins over configuration");
        options.PoolSize.Should().Be(3, "what code leaves alone keeps its configured value");
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

        resolve.Should().Throw<OptionsValidationException>().WithMessage("ConnectionString/EB_PG_DATABASE_URL is required*");
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
            ("EB_PG_ENSURE_SCHEMA", "false"), ("EB_PG_NOTIFY", "false"), ("EB_PG_TTL_SPARES_UNREAD", "false"),
            ("EB_PG_INDEX_LAYOUT", "minimal"), ("EB_PG_PAYLOAD_TYPE", "bytea"), ("EB_PG_PARTITION_INTERVAL_IN_MS", "3600000"));
        using var provider = new ServiceCollection().AddRxEventBus().AddPostgresPersistence(configuration, _ => { })
            .Services.BuildServiceProvider();

        var options = provider.GetRequiredService<PostgresPersistenceOptions>();

        options.Should().BeEquivalentTo(PostgresPersistenceOptions.FromVariables(name => configuration[name]),
            o => o.Excluding(x => x.Serializer));
        options.Serializer.Should().BeOfType<JsonEventSerializer>();
    }

    [Fact]
    public void AddPostgresPersistence_Section_BindsEverySettingByItsPropertyName()
    {
        var configuration = Configuration(
            ("RxEventBus:Persistence:ConnectionString", Url), ("RxEventBus:Persistence:DatabasePoolSize", "7"),
            ("RxEventBus:Persistence:Topics:0", "a"), ("RxEventBus:Persistence:Topics:1", "b"), ("RxEventBus:Persistence:BufferSize", "33"),
            ("RxEventBus:Persistence:Overflow", "DropNewest"), ("RxEventBus:Persistence:PublishTimeout", "00:00:05"),
            ("RxEventBus:Persistence:PoolSize", "3"), ("RxEventBus:Persistence:MaxBatchSize", "44"), ("RxEventBus:Persistence:MinDemand", "5"),
            ("RxEventBus:Persistence:MaxBatchDelay", "00:00:00.066"), ("RxEventBus:Persistence:AutoDeleteWithTtl", "false"),
            ("RxEventBus:Persistence:DefaultTtl", "01:00:00"), ("RxEventBus:Persistence:DeletionPeriod", "00:02:00"),
            ("RxEventBus:Persistence:Schema", "bus"), ("RxEventBus:Persistence:Table", "log"), ("RxEventBus:Persistence:EnsureSchema", "false"),
            ("RxEventBus:Persistence:NotifyOnCommit", "false"), ("RxEventBus:Persistence:TtlSparesUnreadEvents", "false"),
            ("RxEventBus:Persistence:SubscriberName", "archive"), ("RxEventBus:Persistence:InitialRetryDelay", "00:00:01"),
            ("RxEventBus:Persistence:MaxRetryDelay", "00:01:00"), ("RxEventBus:Persistence:RetryJitter", "0.25"),
            ("RxEventBus:Persistence:ShutdownTimeout", "00:00:09"));
        using var provider = new ServiceCollection().AddRxEventBus().AddPostgresPersistence(configuration).Services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<PostgresPersistenceOptions>>().Value;

        options.Should().BeEquivalentTo(new PostgresPersistenceOptions
        {
            ConnectionString = DatabaseUrl.ToConnectionString(Url), DatabasePoolSize = 7, Topics = ["a", "b"], BufferSize = 33,
            Overflow = OverflowPolicy.DropNewest, PublishTimeout = TimeSpan.FromSeconds(5), PoolSize = 3, MaxBatchSize = 44, MinDemand = 5,
            MaxBatchDelay = TimeSpan.FromMilliseconds(66), AutoDeleteWithTtl = false, DefaultTtl = TimeSpan.FromHours(1),
            DeletionPeriod = TimeSpan.FromMinutes(2), Schema = "bus", Table = "log", EnsureSchema = false, NotifyOnCommit = false, TtlSparesUnreadEvents = false, SubscriberName = "archive",
            InitialRetryDelay = TimeSpan.FromSeconds(1), MaxRetryDelay = TimeSpan.FromMinutes(1), RetryJitter = 0.25,
            ShutdownTimeout = TimeSpan.FromSeconds(9),
        }, o => o.Excluding(x => x.Serializer), "every setting with a value in configuration is bound, the URL turned into a connection string");
        options.Topics.Should().Equal(["a", "b"], "the configured topics replace the default .*, they are not added to it");
        provider.GetRequiredService<PostgresPersistenceOptions>().Should().BeSameAs(options, "the options are injectable as they are");
    }

    [Fact]
    public void AddPostgresPersistence_SectionVariablesAndCode_EachOverTheOneBefore()
    {
        var configuration = Configuration(
            ("RxEventBus:Persistence:ConnectionString", Url), ("RxEventBus:Persistence:Table", "from_section"),
            ("RxEventBus:Persistence:Schema", "from_section"), ("RxEventBus:Persistence:BufferSize", "111"),
            ("EB_PG_TABLE", "from_variable"), ("EB_PG_SCHEMA", "from_variable"));
        using var provider = new ServiceCollection().AddRxEventBus()
            .AddPostgresPersistence(configuration, options => options.Table = "from_code")
            .Services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<PostgresPersistenceOptions>>().Value;

        options.BufferSize.Should().Be(111, "the section sets what nothing after it sets");
        options.Schema.Should().Be("from_variable", "an EB_PG_* name wins over the section");
        options.Table.Should().Be("from_code", "code wins over both");
    }

    [Theory]
    [InlineData("PoolSize", "abc", "a whole number (e.g. 4)")]
    [InlineData("MaxBatchDelay", "soon", "a duration written hh:mm:ss[.fff] (e.g. 00:00:30)")]
    [InlineData("AutoDeleteWithTtl", "maybe", "true or false")]
    [InlineData("RetryJitter", "half", "a number (e.g. 0.5)")]
    [InlineData("Overflow", "sometimes", "wait, drop_oldest, drop_newest or fail")]
    [InlineData("Overflow", "1", "wait, drop_oldest, drop_newest or fail")]
    public async Task HostStart_ValueTheSectionCannotHold_FailsNamingTheKeyAndTheExpectation(string key, string value, string expected)
    {
        using var host = StartableHost(persistence: true, ("RxEventBus:Persistence:ConnectionString", Url), ($"RxEventBus:Persistence:{key}", value));

        var start = () => host.StartAsync();

        var error = (await start.Should().ThrowAsync<PostgresConfigurationException>()).Which;
        error.Variable.Should().Be($"RxEventBus:Persistence:{key}");
        error.Message.Should().Be($"RxEventBus:Persistence:{key} must be {expected}, but is '{value}'.").And.NotContain("secret");
    }

    [Theory]
    [InlineData("drop_oldest", OverflowPolicy.DropOldest)]
    [InlineData("drop-newest", OverflowPolicy.DropNewest)]
    [InlineData("DropOldest", OverflowPolicy.DropOldest)]
    [InlineData(" FAIL ", OverflowPolicy.Fail)]
    public void AddPostgresPersistence_SectionOverflowSpelledAsTheVariableIs_IsRead(string value, OverflowPolicy expected)
    {
        var configuration = Configuration(("RxEventBus:Persistence:ConnectionString", Url), ("RxEventBus:Persistence:Overflow", value));
        using var provider = new ServiceCollection().AddRxEventBus().AddPostgresPersistence(configuration).Services.BuildServiceProvider();

        provider.GetRequiredService<PostgresPersistenceOptions>().Overflow.Should().Be(expected);
    }

    [Fact]
    public void AddPostgresPersistence_SectionTopicsAsOneString_IsOneRegex()
    {
        var configuration = Configuration(("RxEventBus:Persistence:ConnectionString", Url), ("RxEventBus:Persistence:Topics", "^orders$"));
        using var provider = new ServiceCollection().AddRxEventBus().AddPostgresPersistence(configuration).Services.BuildServiceProvider();

        provider.GetRequiredService<PostgresPersistenceOptions>().Topics.Should().Equal(["^orders$"], "\"Topics\": \"^orders$\" means that one regex");
    }

    [Fact]
    public void AddPostgresPersistence_ConfigureCalledBeforeIt_StillWinsOverConfiguration()
    {
        var configuration = Configuration(("RxEventBus:Persistence:ConnectionString", Url), ("RxEventBus:Persistence:Table", "from_section"),
            ("EB_PG_SCHEMA", "from_variable"));
        var services = new ServiceCollection();
        services.Configure<PostgresPersistenceOptions>(options => (options.Table, options.Schema) = ("from_code", "code_schema"));
        using var provider = services.AddRxEventBus().AddPostgresPersistence(configuration).Services.BuildServiceProvider();

        var options = provider.GetRequiredService<PostgresPersistenceOptions>();

        options.Table.Should().Be("from_code", "code wins over the section whatever the order of the calls");
        options.Schema.Should().Be("code_schema", "code wins over EB_PG_* whatever the order of the calls");
    }

    [Fact]
    public void AddRxEventBus_ConfigureCalledBeforeIt_StillWinsOverConfiguration()
    {
        var services = new ServiceCollection();
        services.AddSingleton(Configuration(("RxEventBus:DefaultSource", "from_section")));
        services.Configure<EventBusOptionsBuilder>(bus => bus.DefaultSource = "from_code");
        using var provider = services.AddRxEventBus().Services.BuildServiceProvider();

        provider.GetRequiredService<EventBus>().Options.DefaultSource.Should().Be("from_code", "code wins whatever the order of the calls");
    }

    [Fact]
    public async Task HostStart_RuleBrokenInTheSection_FailsNamingTheSettingAndItsVariable()
    {
        using var host = StartableHost(persistence: true,
            ("RxEventBus:Persistence:ConnectionString", Url), ("RxEventBus:Persistence:DatabasePoolSize", "2"), ("RxEventBus:Persistence:PoolSize", "5"));

        var start = () => host.StartAsync();

        (await start.Should().ThrowAsync<OptionsValidationException>())
            .Which.Message.Should().Be(
                "PoolSize/EB_PG_POOL_SIZE must not exceed DatabasePoolSize/EB_PG_DATABASE_POOL_SIZE (2), since each writer holds a connection, but is '5'.");
    }

    [Fact]
    public async Task HostStart_UnreadableUrlInTheSection_FailsNamingTheKeyWithoutThePassword()
    {
        using var host = StartableHost(persistence: true, ("RxEventBus:Persistence:ConnectionString", "postgres://app:secret@db.example:notaport/events"));

        var start = () => host.StartAsync();

        var error = (await start.Should().ThrowAsync<PostgresConfigurationException>()).Which;
        error.Variable.Should().Be("RxEventBus:Persistence:ConnectionString");
        error.Message.Should().StartWith("RxEventBus:Persistence:ConnectionString must be postgres://").And.NotContain("secret");
    }

    [Fact]
    public void AddRxEventBus_Section_BindsTheBusOptionsAndCodeAddsToThem()
    {
        var services = new ServiceCollection();
        services.AddSingleton(Configuration(
            ("RxEventBus:Topics:0", "orders"), ("RxEventBus:Topics:1", "payments"), ("RxEventBus:AutoRegisterTopics", "true"),
            ("RxEventBus:DefaultSource", "shop"), ("RxEventBus:DefaultTtl", "00:15:00"), ("RxEventBus:RegexMatchTimeout", "00:00:02")));
        using var provider = services.AddRxEventBus(bus => bus.Topics.Add("refunds")).Services.BuildServiceProvider();

        var bus = provider.GetRequiredService<EventBus>();

        bus.Topics.Should().BeEquivalentTo(["orders", "payments", "refunds"]);
        bus.Options.AutoRegisterTopics.Should().BeTrue();
        bus.Options.DefaultSource.Should().Be("shop");
        bus.Options.DefaultTtl.Should().Be(TimeSpan.FromMinutes(15));
        bus.Options.RegexMatchTimeout.Should().Be(TimeSpan.FromSeconds(2));
    }

    [Fact]
    public async Task HostStart_BadBusOptionInTheSection_FailsTheStartNamingTheOption()
    {
        // Nothing resolves the bus while the host starts: only ValidateOnStart checks its options then.
        using var host = StartableHost(persistence: false, ("RxEventBus:DefaultTtl", "-00:00:01"));

        var start = () => host.StartAsync();

        (await start.Should().ThrowAsync<OptionsValidationException>()).Which.Message.Should().Contain("EventBusOptions.DefaultTtl must be positive");
    }

    [Fact]
    public async Task HostStart_BadTopicNameInTheSection_FailsTheStartNamingTheTopic()
    {
        using var host = StartableHost(persistence: false, ("RxEventBus:Topics:0", "orders"), ("RxEventBus:Topics:1", "bad\ttopic"));

        var start = () => host.StartAsync();

        (await start.Should().ThrowAsync<OptionsValidationException>())
            .Which.Message.Should().StartWith("EventBusOptions.Topics[1] is not a valid topic name: Topic name 'bad\\u0009topic'");
    }

    [Fact]
    public async Task HostStart_TopicPatternThatIsNoRegexInTheSection_FailsTheStartNamingTheSetting()
    {
        using var host = StartableHost(persistence: true,
            ("RxEventBus:Persistence:ConnectionString", Url), ("RxEventBus:Persistence:Topics:0", "orders"), ("RxEventBus:Persistence:Topics:1", "(unclosed"));

        var start = () => host.StartAsync();

        (await start.Should().ThrowAsync<OptionsValidationException>())
            .Which.Message.Should().StartWith("Topics/EB_PG_TOPICS must hold regexes (e.g. \"user_.*\"), but '(unclosed' is not one: ");
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
