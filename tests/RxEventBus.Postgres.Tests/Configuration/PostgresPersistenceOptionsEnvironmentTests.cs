using Npgsql;

namespace RxEventBus.Postgres.Tests.Configuration;

public sealed class PostgresPersistenceOptionsEnvironmentTests
{
    private const string Secret = "s3cr3t";
    private const string Url = "postgres://app:s3cr3t-P%40ss@db.example:5432/events";

    private static PostgresPersistenceOptions Bind(params (string Name, string? Value)[] variables)
    {
        var all = new Dictionary<string, string?> { ["EB_PG_DATABASE_URL"] = Url };
        foreach (var (name, value) in variables)
        {
            all[name] = value;
        }

        return PostgresPersistenceOptions.FromVariables(all);
    }

    private static PostgresConfigurationException BindFails(params (string Name, string? Value)[] variables)
    {
        var bind = () => Bind(variables);
        return bind.Should().Throw<PostgresConfigurationException>().Which;
    }

    // The property a variable sets, in a form attributes can hold: milliseconds for durations, topics joined.
    private static object Property(PostgresPersistenceOptions options, string variable) => variable switch
    {
        "EB_PG_ENABLED" => options.Enabled,
        "EB_PG_AUTO_DELETE_WITH_TTL" => options.AutoDeleteWithTtl,
        "EB_PG_ENSURE_SCHEMA" => options.EnsureSchema,
        "EB_PG_NOTIFY" => options.NotifyOnCommit,
        "EB_PG_TTL_SPARES_UNREAD" => options.TtlSparesUnreadEvents,
        "EB_PG_DEFAULT_TTL_IN_MS" => (long)options.DefaultTtl.TotalMilliseconds,
        "EB_PG_DELETION_PERIOD_IN_MS" => (long)options.DeletionPeriod.TotalMilliseconds,
        "EB_PG_BATCH_DELAY_IN_MS" => (long)options.MaxBatchDelay.TotalMilliseconds,
        "EB_PG_PUBLISH_TIMEOUT_IN_MS" => (long)options.PublishTimeout.TotalMilliseconds,
        "EB_PG_MIN_DEMAND" => options.MinDemand,
        "EB_PG_MAX_DEMAND" or "EB_PG_BATCH_SIZE" => options.MaxBatchSize,
        "EB_PG_POOL_SIZE" => options.PoolSize,
        "EB_PG_BUFFER_SIZE" => options.BufferSize,
        "EB_PG_DATABASE_POOL_SIZE" => options.DatabasePoolSize,
        "EB_PG_TOPICS" => string.Join("|", options.Topics),
        "EB_PG_OVERFLOW" => options.Overflow,
        "EB_PG_SCHEMA" => options.Schema,
        "EB_PG_TABLE" => options.Table,
        "EB_PG_INDEX_LAYOUT" => options.IndexLayout,
        "EB_PG_PAYLOAD_TYPE" => options.PayloadType,
        "EB_PG_PARTITION_INTERVAL_IN_MS" => options.PartitionInterval is { } interval ? (long)interval.TotalMilliseconds : "none",
        _ => throw new ArgumentOutOfRangeException(nameof(variable), variable, "not a variable of these tests"),
    };

    [Fact]
    public void FromVariables_OnlyTheDatabaseUrl_EveryOtherOptionHasItsDefault()
    {
        var options = Bind();

        options.Enabled.Should().BeTrue("the seed persists unless told not to");
        options.MinDemand.Should().Be(75);
        options.MaxBatchSize.Should().Be(5_000, "not the seed's 100: a commit per 100 events runs slower than the seed's INSERT (docs/benchmarks.md)");
        options.PoolSize.Should().Be(2);
        options.BufferSize.Should().Be(10_000, "not the seed's 200: room for two batches");
        options.Topics.Should().Equal(".*");
        options.DefaultTtl.Should().Be(TimeSpan.FromMilliseconds(900_000));
        options.DeletionPeriod.Should().Be(TimeSpan.FromMilliseconds(600_000));
        options.PublishTimeout.Should().Be(TimeSpan.FromSeconds(30), "a publisher waits for room at most this long, then is refused");
        options.AutoDeleteWithTtl.Should().BeTrue();
        options.DatabasePoolSize.Should().Be(10);
        options.Overflow.Should().Be(OverflowPolicy.Wait);
        options.MaxBatchDelay.Should().Be(TimeSpan.FromMilliseconds(50));
        options.Schema.Should().Be("public");
        options.Table.Should().Be("events");
        options.EnsureSchema.Should().BeTrue();
        options.NotifyOnCommit.Should().BeTrue("each committed batch wakes the subscriptions of other processes");
        options.TtlSparesUnreadEvents.Should().BeTrue("the cleaner keeps what a named subscription has not read, unless told otherwise");
        options.IndexLayout.Should().Be(IndexLayout.Default);
        options.PayloadType.Should().Be(PayloadType.Bytea, "the cheapest to write, as event_bus_postgres stores payloads");
        options.PartitionInterval.Should().BeNull("one plain table unless asked");
    }

    [Fact]
    public void FromVariables_OnlyTheDatabaseUrl_MatchesTheDefaultsOfANewOptionsObject()
    {
        var bound = Bind();
        var fresh = new PostgresPersistenceOptions { ConnectionString = bound.ConnectionString };

        bound.Should().BeEquivalentTo(fresh, o => o.Excluding(x => x.Serializer), "an unset variable leaves the property's own default");
    }

    [Theory]
    [InlineData("EB_PG_ENABLED")]
    [InlineData("EB_PG_AUTO_DELETE_WITH_TTL")]
    [InlineData("EB_PG_DEFAULT_TTL_IN_MS")]
    [InlineData("EB_PG_DELETION_PERIOD_IN_MS")]
    [InlineData("EB_PG_MIN_DEMAND")]
    [InlineData("EB_PG_MAX_DEMAND")]
    [InlineData("EB_PG_BATCH_SIZE")]
    [InlineData("EB_PG_BATCH_DELAY_IN_MS")]
    [InlineData("EB_PG_POOL_SIZE")]
    [InlineData("EB_PG_BUFFER_SIZE")]
    [InlineData("EB_PG_DATABASE_POOL_SIZE")]
    [InlineData("EB_PG_TOPICS")]
    [InlineData("EB_PG_OVERFLOW")]
    [InlineData("EB_PG_SCHEMA")]
    [InlineData("EB_PG_TABLE")]
    [InlineData("EB_PG_ENSURE_SCHEMA")]
    [InlineData("EB_PG_NOTIFY")]
    [InlineData("EB_PG_TTL_SPARES_UNREAD")]
    [InlineData("EB_PG_INDEX_LAYOUT")]
    [InlineData("EB_PG_PAYLOAD_TYPE")]
    [InlineData("EB_PG_PARTITION_INTERVAL_IN_MS")]
    public void FromVariables_EmptyOrBlankVariable_KeepsTheDefault(string variable)
    {
        var defaults = Bind();

        Property(Bind((variable, "")), variable).Should().Be(Property(defaults, variable));
        Property(Bind((variable, "   ")), variable).Should().Be(Property(defaults, variable));
    }

    [Theory]
    [InlineData("EB_PG_ENABLED", "false", false)]
    [InlineData("EB_PG_AUTO_DELETE_WITH_TTL", "0", false)]
    [InlineData("EB_PG_ENSURE_SCHEMA", "no", false)]
    [InlineData("EB_PG_NOTIFY", "false", false)]
    [InlineData("EB_PG_TTL_SPARES_UNREAD", "0", false)]
    [InlineData("EB_PG_DEFAULT_TTL_IN_MS", "60000", 60_000L)]
    [InlineData("EB_PG_DEFAULT_TTL_IN_MS", "2592000000", 2_592_000_000L)]
    [InlineData("EB_PG_DELETION_PERIOD_IN_MS", "1000", 1_000L)]
    [InlineData("EB_PG_BATCH_DELAY_IN_MS", "250", 250L)]
    [InlineData("EB_PG_PUBLISH_TIMEOUT_IN_MS", "5000", 5_000L)]
    [InlineData("EB_PG_MIN_DEMAND", "0", 0)]
    [InlineData("EB_PG_MIN_DEMAND", "100", 100)]
    [InlineData("EB_PG_MAX_DEMAND", "500", 500)]
    [InlineData("EB_PG_BATCH_SIZE", "80", 80)]
    [InlineData("EB_PG_POOL_SIZE", "4", 4)]
    [InlineData("EB_PG_BUFFER_SIZE", " 1000 ", 1000)]
    [InlineData("EB_PG_DATABASE_POOL_SIZE", "20", 20)]
    [InlineData("EB_PG_TOPICS", "user_.*", "user_.*")]
    [InlineData("EB_PG_OVERFLOW", "drop_newest", OverflowPolicy.DropNewest)]
    [InlineData("EB_PG_SCHEMA", "bus", "bus")]
    [InlineData("EB_PG_TABLE", "event_log", "event_log")]
    [InlineData("EB_PG_INDEX_LAYOUT", "minimal", IndexLayout.Minimal)]
    [InlineData("EB_PG_INDEX_LAYOUT", "Full", IndexLayout.Full)]
    [InlineData("EB_PG_PAYLOAD_TYPE", "bytea", PayloadType.Bytea)]
    [InlineData("EB_PG_PAYLOAD_TYPE", " JSON ", PayloadType.Json)]
    [InlineData("EB_PG_PARTITION_INTERVAL_IN_MS", "86400000", 86_400_000L)]
    public void FromVariables_ValidValue_SetsTheProperty(string variable, string value, object expected)
    {
        Property(Bind((variable, value)), variable).Should().Be(expected);
    }

    [Theory]
    [InlineData("true", true)]
    [InlineData("TRUE", true)]
    [InlineData("1", true)]
    [InlineData("yes", true)]
    [InlineData("Yes", true)]
    [InlineData("false", false)]
    [InlineData("False", false)]
    [InlineData("0", false)]
    [InlineData("no", false)]
    [InlineData(" NO ", false)]
    public void FromVariables_BooleanSpelling_IsRead(string value, bool expected)
    {
        Bind(("EB_PG_ENSURE_SCHEMA", value)).EnsureSchema.Should().Be(expected);
    }

    [Theory]
    [InlineData("wait", OverflowPolicy.Wait)]
    [InlineData("drop_oldest", OverflowPolicy.DropOldest)]
    [InlineData("DROP_OLDEST", OverflowPolicy.DropOldest)]
    [InlineData("DropOldest", OverflowPolicy.DropOldest)]
    [InlineData("drop-newest", OverflowPolicy.DropNewest)]
    [InlineData("DropNewest", OverflowPolicy.DropNewest)]
    [InlineData("Fail", OverflowPolicy.Fail)]
    public void FromVariables_OverflowSpelling_IsRead(string value, OverflowPolicy expected)
    {
        Bind(("EB_PG_OVERFLOW", value)).Overflow.Should().Be(expected);
    }

    [Fact]
    public void FromVariables_TopicsWithSpacesAndEmptyEntries_AreTrimmedAndDropped()
    {
        var options = Bind(("EB_PG_TOPICS", " user_.* ; ;order_created$;;"));

        options.Topics.Should().Equal(["user_.*", "order_created$"], "entries are trimmed and empty ones dropped");
    }

    [Fact]
    public void FromVariables_DatabaseUrl_IsNormalizedToAnNpgsqlConnectionString()
    {
        var builder = new NpgsqlConnectionStringBuilder(Bind().ConnectionString);

        builder.Host.Should().Be("db.example");
        builder.Port.Should().Be(5432);
        builder.Username.Should().Be("app");
        builder.Password.Should().Be("s3cr3t-P@ss");
        builder.Database.Should().Be("events");
    }

    [Fact]
    public void FromVariables_Dictionary_ReadsLikeTheLookup()
    {
        var variables = new Dictionary<string, string?> { ["EB_PG_DATABASE_URL"] = Url, ["EB_PG_POOL_SIZE"] = "3" };

        var fromDictionary = PostgresPersistenceOptions.FromVariables(variables);
        var fromLookup = PostgresPersistenceOptions.FromVariables(name => variables.GetValueOrDefault(name));

        fromDictionary.Should().BeEquivalentTo(fromLookup, o => o.Excluding(x => x.Serializer));
        fromDictionary.PoolSize.Should().Be(3);
    }

    [Fact]
    public void FromEnvironment_VariablesSet_AreRead()
    {
        // The only test that touches the process environment, so parallel tests cannot see these values.
        string[] names = ["EB_PG_DATABASE_URL", "EB_PG_BUFFER_SIZE"];
        var saved = names.ToDictionary(n => n, Environment.GetEnvironmentVariable);
        try
        {
            Environment.SetEnvironmentVariable("EB_PG_DATABASE_URL", "Host=localhost;Username=app;Database=events");
            Environment.SetEnvironmentVariable("EB_PG_BUFFER_SIZE", "321");

            var options = PostgresPersistenceOptions.FromEnvironment();

            options.ConnectionString.Should().Be("Host=localhost;Username=app;Database=events");
            options.BufferSize.Should().Be(321);
        }
        finally
        {
            foreach (var (name, value) in saved)
            {
                Environment.SetEnvironmentVariable(name, value);
            }
        }
    }

    [Theory]
    [InlineData("EB_PG_ENABLED", "maybe", "must be true or false")]
    [InlineData("EB_PG_ENABLED", "2", "must be true or false")]
    [InlineData("EB_PG_AUTO_DELETE_WITH_TTL", "on", "must be true or false")]
    [InlineData("EB_PG_ENSURE_SCHEMA", "y", "must be true or false")]
    [InlineData("EB_PG_NOTIFY", "off", "must be true or false")]
    [InlineData("EB_PG_TTL_SPARES_UNREAD", "always", "must be true or false")]
    [InlineData("EB_PG_INDEX_LAYOUT", "btree", "must be default, full or minimal, but is 'btree'")]
    [InlineData("EB_PG_INDEX_LAYOUT", "1", "must be default, full or minimal")]
    [InlineData("EB_PG_PAYLOAD_TYPE", "text", "must be jsonb, json or bytea, but is 'text'")]
    [InlineData("EB_PG_PARTITION_INTERVAL_IN_MS", "1d", "must be a positive whole number of milliseconds (e.g. 86400000)")]
    [InlineData("EB_PG_PARTITION_INTERVAL_IN_MS", "90000", "must be a whole number of minutes from 1 minute to 366 days")]
    [InlineData("EB_PG_DEFAULT_TTL_IN_MS", "abc", "must be a positive whole number of milliseconds (e.g. 900000)")]
    [InlineData("EB_PG_DEFAULT_TTL_IN_MS", "0", "must be a positive whole number of milliseconds")]
    [InlineData("EB_PG_DEFAULT_TTL_IN_MS", "15m", "must be a positive whole number of milliseconds")]
    [InlineData("EB_PG_DEFAULT_TTL_IN_MS", "99999999999999999999", "must be a positive whole number of milliseconds")]
    [InlineData("EB_PG_DEFAULT_TTL_IN_MS", "922337203685478", "must be a positive whole number of milliseconds")]
    [InlineData("EB_PG_DELETION_PERIOD_IN_MS", "-1", "must be a positive whole number of milliseconds (e.g. 600000)")]
    [InlineData("EB_PG_DELETION_PERIOD_IN_MS", "1.5", "must be a positive whole number of milliseconds")]
    [InlineData("EB_PG_BATCH_DELAY_IN_MS", "1e3", "must be a positive whole number of milliseconds (e.g. 50)")]
    [InlineData("EB_PG_PUBLISH_TIMEOUT_IN_MS", "0", "must be a positive whole number of milliseconds (e.g. 30000)")]
    [InlineData("EB_PG_MIN_DEMAND", "-1", "must be a whole number from 0 up (e.g. 75)")]
    [InlineData("EB_PG_MIN_DEMAND", "abc", "must be a whole number from 0 up")]
    [InlineData("EB_PG_MAX_DEMAND", "0", "must be a positive whole number (e.g. 100)")]
    [InlineData("EB_PG_MAX_DEMAND", "1,000", "must be a positive whole number")]
    [InlineData("EB_PG_BATCH_SIZE", "+5", "must be a positive whole number (e.g. 100)")]
    [InlineData("EB_PG_POOL_SIZE", "abc", "must be a positive whole number (e.g. 4)")]
    [InlineData("EB_PG_POOL_SIZE", "-1", "must be a positive whole number")]
    [InlineData("EB_PG_POOL_SIZE", "1.5", "must be a positive whole number")]
    [InlineData("EB_PG_BUFFER_SIZE", "2147483648", "must be a positive whole number (e.g. 200)")]
    [InlineData("EB_PG_BUFFER_SIZE", "0x10", "must be a positive whole number")]
    [InlineData("EB_PG_DATABASE_POOL_SIZE", "ten", "must be a positive whole number (e.g. 10)")]
    [InlineData("EB_PG_TOPICS", " ; ;", "must hold at least one topic regex")]
    [InlineData("EB_PG_TOPICS", "(unclosed", "must hold regexes separated by ';'")]
    [InlineData("EB_PG_TOPICS", "(?x)a#b", "must hold regexes separated by ';'")]
    [InlineData("EB_PG_OVERFLOW", "sometimes", "must be wait, drop_oldest, drop_newest or fail")]
    [InlineData("EB_PG_OVERFLOW", "1", "must be wait, drop_oldest, drop_newest or fail")]
    [InlineData("EB_PG_OVERFLOW", "Wait,Fail", "must be wait, drop_oldest, drop_newest or fail")]
    [InlineData("EB_PG_SCHEMA", "my-schema", "must be a plain identifier")]
    [InlineData("EB_PG_TABLE", "events; DROP TABLE users", "must be a plain identifier")]
    [InlineData("EB_PG_DATABASE_URL", "mysql://app@db/events", "must be postgres://user:password@host:port/database")]
    [InlineData("EB_PG_DATABASE_URL", "postgres://app@db.example:abc/events", "must be postgres://user:password@host:port/database")]
    public void FromVariables_BadValue_ThrowsNamingTheVariableAndTheExpectation(string variable, string value, string expectation)
    {
        var error = BindFails((variable, value));

        error.Variable.Should().Be(variable);
        error.ParamName.Should().Be(variable);
        error.Message.Should().Contain(variable).And.Contain(expectation).And.Contain(value.Trim(), "the message shows what was found");
    }

    [Theory]
    [InlineData("(unclosed")]
    [InlineData("(?x)a#b")] // valid alone, but comments out the ')' of ^(?:…), as the bus anchors it
    public void Validate_TopicThatIsNoRegexTheBusCanUse_ThrowsNamingTheSetting(string pattern)
    {
        // Set in code (or bound from a section): the same rule as EB_PG_TOPICS, through Validate.
        var options = new PostgresPersistenceOptions { ConnectionString = "Host=db.example", Topics = ["orders", pattern] };

        var validate = options.Validate;

        var error = validate.Should().Throw<PostgresConfigurationException>().Which;
        error.Variable.Should().Be("EB_PG_TOPICS");
        error.Message.Should().StartWith($"Topics/EB_PG_TOPICS must hold regexes (e.g. \"user_.*\"), but '{pattern}' is not one: ");
    }

    [Theory]
    [InlineData("EB_PG_DEFAULT_TTL_IN_MS", "31557600000001", "at most 1,000 years")]
    [InlineData("EB_PG_PUBLISH_TIMEOUT_IN_MS", "2160000000", "at most 24 days")]
    public void FromVariables_DurationAboveItsLimit_ThrowsNamingTheVariableAndTheLimit(string variable, string value, string limit)
    {
        // An expiry past year 9999 cannot be stored; a timer longer than 24 days cannot be armed.
        var error = BindFails((variable, value));

        error.Variable.Should().Be(variable);
        error.Message.Should().Contain(limit);
    }

    [Fact]
    public void FromVariables_BatchSizeAndMaxDemandDiffer_ThrowsNamingBoth()
    {
        var error = BindFails(("EB_PG_BATCH_SIZE", "200"), ("EB_PG_MAX_DEMAND", "100"));

        error.Variable.Should().Be("EB_PG_BATCH_SIZE");
        error.Message.Should().Contain("EB_PG_BATCH_SIZE").And.Contain("EB_PG_MAX_DEMAND").And.Contain("200").And.Contain("100");
    }

    [Fact]
    public void FromVariables_BatchSizeAndMaxDemandAgree_SetsMaxBatchSize()
    {
        Bind(("EB_PG_BATCH_SIZE", "250"), ("EB_PG_MAX_DEMAND", "250")).MaxBatchSize.Should().Be(250);
    }

    [Fact]
    public void FromVariables_SmallBatchSizeWithDefaultMinDemand_IsAccepted()
    {
        var options = PostgresPersistenceOptions.FromVariables(new Dictionary<string, string?>
        {
            ["EB_PG_DATABASE_URL"] = "postgres://u:p@localhost/db",
            ["EB_PG_BATCH_SIZE"] = "50",
        });

        options.MaxBatchSize.Should().Be(50, "the seed's default min demand (75) must not veto a batch size the user chose");
    }

    [Fact]
    public void FromVariables_MinDemandAboveMaxDemand_ThrowsNamingBoth()
    {
        var error = BindFails(("EB_PG_MIN_DEMAND", "150"), ("EB_PG_MAX_DEMAND", "100"));

        error.Variable.Should().Be("EB_PG_MIN_DEMAND");
        error.Message.Should().Contain("EB_PG_MAX_DEMAND (100)").And.Contain("'150'");
    }

    [Fact]
    public void FromVariables_MinDemandAboveBatchSize_NamesTheVariableThatWasSet()
    {
        var error = BindFails(("EB_PG_BATCH_SIZE", "50"), ("EB_PG_MIN_DEMAND", "60"));

        error.Variable.Should().Be("EB_PG_MIN_DEMAND", "the min demand that was set exceeds the batch size");
        error.Message.Should().Contain("EB_PG_BATCH_SIZE (50)");
    }

    [Fact]
    public void FromVariables_MoreWritersThanConnections_ThrowsNamingBoth()
    {
        var error = BindFails(("EB_PG_POOL_SIZE", "12"), ("EB_PG_DATABASE_POOL_SIZE", "8"));

        error.Variable.Should().Be("EB_PG_POOL_SIZE");
        error.Message.Should().Contain("EB_PG_DATABASE_POOL_SIZE (8)").And.Contain("'12'");
    }

    [Fact]
    public void FromVariables_NoDatabaseUrlWhileEnabled_ThrowsNamingTheUrl()
    {
        var bind = () => PostgresPersistenceOptions.FromVariables(_ => null);

        var error = bind.Should().Throw<PostgresConfigurationException>().Which;
        error.Variable.Should().Be("EB_PG_DATABASE_URL");
        error.Message.Should().Contain("required").And.Contain("postgres://").And.Contain("EB_PG_ENABLED=false");
    }

    [Fact]
    public void FromVariables_NoDatabaseUrlWhileDisabled_ReturnsDisabledOptions()
    {
        var options = PostgresPersistenceOptions.FromVariables(name => name == "EB_PG_ENABLED" ? "false" : null);

        options.Enabled.Should().BeFalse();
        options.ConnectionString.Should().BeEmpty("nothing will connect");
    }

    [Fact]
    public void FromVariables_BadValueWhileDisabled_StillThrows()
    {
        var variables = new Dictionary<string, string?> { ["EB_PG_ENABLED"] = "false", ["EB_PG_POOL_SIZE"] = "abc" };

        var bind = () => PostgresPersistenceOptions.FromVariables(variables);

        bind.Should().Throw<PostgresConfigurationException>().Which.Variable.Should().Be("EB_PG_POOL_SIZE");
    }

    [Fact]
    public void FromVariables_LookupIsNull_ThrowsArgumentNull()
    {
        var bind = () => PostgresPersistenceOptions.FromVariables((Func<string, string?>)null!);

        bind.Should().Throw<ArgumentNullException>();
    }

    [Theory]
    [InlineData("postgres://app:s3cr3t-P%40ss@db.example:abc/events")]
    [InlineData("postgres://app:s3cr3t-P%40ss@db.example/events?bogus=1")]
    [InlineData("postgres://app:s3cr3t-P%40ss@db.example/events?sslmode=s3cr3t-P%40ss")]
    [InlineData("postgres://app:s3cr3t/P@ss@db.example/events")]
    [InlineData("mysql://app:s3cr3t-P%40ss@db.example/events")]
    [InlineData("Host=db.example;Password=s3cr3t-P@ss;Port=s3cr3t-P@ss")]
    [InlineData("Host=db.example;Password='s3cr3t-P@ss")]
    [InlineData("Password=s3cr3t-P@ss;Database=events")]
    public void FromVariables_BadDatabaseUrlWithAPassword_NeverShowsThePassword(string url)
    {
        var error = BindFails(("EB_PG_DATABASE_URL", url));

        error.Variable.Should().Be("EB_PG_DATABASE_URL");
        error.Message.Should().NotContain(Secret);
        error.ToString().Should().NotContain(Secret, "inner exceptions and their messages are printed too");
    }

    [Fact]
    public void FromVariables_OtherVariableBadWithAPassword_NeverShowsThePassword()
    {
        var error = BindFails(("EB_PG_POOL_SIZE", "12"), ("EB_PG_DATABASE_POOL_SIZE", "8"));

        error.ToString().Should().NotContain(Secret);
    }

    [Theory]
    [InlineData(Url)]
    [InlineData("Host=db.example;Username=app;Password=s3cr3t-P@ss;Database=events")]
    [InlineData("Host=db.example;PWD=s3cr3t-P@ss;SSL Password=s3cr3t-key")]
    public void ToString_ConnectionStringWithAPassword_ShowsEverythingButThePassword(string url)
    {
        var text = Bind(("EB_PG_DATABASE_URL", url), ("EB_PG_POOL_SIZE", "3")).ToString();

        text.Should().NotContain(Secret).And.Contain("db.example").And.Contain("***").And.Contain("PoolSize = 3");
    }

    [Fact]
    public void ToString_NoConnectionString_SaysNone()
    {
        new PostgresPersistenceOptions().ToString().Should().Contain("ConnectionString = (none)");
    }
}
