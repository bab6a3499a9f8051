using System.Text.RegularExpressions;
using Npgsql;

namespace RxEventBus.Postgres;

/// <summary>
/// Settings of the persistence consumer. Each can be read from an <c>EB_PG_*</c> environment variable
/// (<c>FromEnvironment</c>), named in the property's documentation; defaults are written here only.
/// </summary>
public sealed partial class PostgresPersistenceOptions
{
    /// <summary><c>EB_PG_ENABLED</c>. Whether the consumer runs at all. Default: true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// <c>EB_PG_DATABASE_URL</c>, in either <c>postgres://user:pass@host:port/db</c> or Npgsql
    /// <c>Host=…;Username=…</c> form (normalized to the latter). Required.
    /// </summary>
    public string ConnectionString { get; set; } = string.Empty;

    /// <summary><c>EB_PG_DATABASE_POOL_SIZE</c>. Most connections the consumer opens. Default: 10.</summary>
    public int DatabasePoolSize { get; set; } = 10;

    /// <summary><c>EB_PG_TOPICS</c> (<c>;</c>-separated). Regexes of the topics to persist. Default: <c>.*</c>.</summary>
    public IReadOnlyList<string> Topics { get; set; } = [".*"];

    /// <summary>
    /// <c>EB_PG_BUFFER_SIZE</c>. Events held between the bus and the batcher. Default: 10,000, room for two
    /// batches, so one fills while the other is written (a buffer of 200 with batches of 100 ran at a third of the
    /// speed; see docs/benchmarks.md).
    /// </summary>
    public int BufferSize { get; set; } = 10_000;

    /// <summary><c>EB_PG_OVERFLOW</c> (<c>wait</c>, <c>drop_oldest</c>, <c>drop_newest</c>, <c>fail</c>). What
    /// happens when the buffer is full. Default: <see cref="OverflowPolicy.Wait"/>.</summary>
    public OverflowPolicy Overflow { get; set; } = OverflowPolicy.Wait;

    /// <summary>
    /// <c>EB_PG_PUBLISH_TIMEOUT_IN_MS</c>. Under <see cref="OverflowPolicy.Wait"/>, the longest a publisher waits for
    /// room in a full buffer (on the bus's scheduler); then it gets an <see cref="EventRejectedException"/> and the
    /// event is not persisted. Long enough to ride out a database restart, short enough that a publisher never
    /// hangs. At most <see cref="MaxPublishTimeout"/>. Default: 30 s.
    /// <para>The timeout fires on the scheduler, so the scheduler must run its timers on another thread than the
    /// blocked publisher (the default scheduler does; a UI dispatcher, or a test scheduler advanced by the publishing
    /// thread itself, does not): with such a scheduler, publish from another thread, or use another overflow policy.</para>
    /// </summary>
    public TimeSpan PublishTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The longest <see cref="PublishTimeout"/>: 24 days, about the longest a timer of the default scheduler can wait.</summary>
    public static readonly TimeSpan MaxPublishTimeout = TimeSpan.FromDays(24);

    /// <summary>
    /// <c>EB_PG_POOL_SIZE</c>. Batch writers running at once, each on a connection of its own. Default: 2: one
    /// server backend writes a batch at a time, so with one writer the server works on one core while the client
    /// waits for each commit; a second writer doubles what the server can take (docs/benchmarks.md, issue 13).
    /// </summary>
    public int PoolSize { get; set; } = 2;

    /// <summary>
    /// <c>EB_PG_MAX_DEMAND</c> (or its alias <c>EB_PG_BATCH_SIZE</c>). Most events in one batch: a batch is
    /// written when it has this many, or when its oldest event is <see cref="MaxBatchDelay"/> old. Default: 5,000
    /// (small batches mean a commit per few events under load; a quiet stream's batches are cut by age anyway).
    /// </summary>
    public int MaxBatchSize { get; set; } = 5_000;

    /// <summary>
    /// <c>EB_PG_MIN_DEMAND</c>. Read and checked (not negative), but without effect: in a pull pipeline a writer
    /// asks for the next batch as soon as it is free, so there is no refill threshold to set. Accepted so that
    /// configurations that set it keep working (docs/configuration.md). Default: 75.
    /// </summary>
    public int MinDemand { get; set; } = 75;

    /// <summary>
    /// <c>EB_PG_BATCH_DELAY_IN_MS</c>. Oldest an event may be in a batch being filled before the batch is
    /// written anyway (a maximum age, timed from the batch's first event, not a debounce). Default: 50 ms.
    /// </summary>
    public TimeSpan MaxBatchDelay { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary><c>EB_PG_AUTO_DELETE_WITH_TTL</c>. Whether expired rows are deleted periodically. Default: true.</summary>
    public bool AutoDeleteWithTtl { get; set; } = true;

    /// <summary>
    /// <c>EB_PG_DEFAULT_TTL_IN_MS</c>. Ttl of events that have none; at most <see cref="MaxTtl"/>. Default: 900000 ms
    /// (15 minutes).
    /// </summary>
    public TimeSpan DefaultTtl { get; set; } = TimeSpan.FromMilliseconds(900_000);

    /// <summary>
    /// The longest <see cref="DefaultTtl"/>: 1,000 years. An expiry is computed as the event's time plus its ttl
    /// and must fit a date (up to year 9999); an event whose own ttl is too long for that becomes a dead letter.
    /// </summary>
    public static readonly TimeSpan MaxTtl = TimeSpan.FromDays(365_250);

    /// <summary><c>EB_PG_DELETION_PERIOD_IN_MS</c>. How often expired rows are deleted. Default: 600000 ms (10 minutes).</summary>
    public TimeSpan DeletionPeriod { get; set; } = TimeSpan.FromMilliseconds(600_000);

    /// <summary><c>EB_PG_SCHEMA</c>. Schema of the events table. Default: <c>public</c>.</summary>
    public string Schema { get; set; } = "public";

    /// <summary><c>EB_PG_TABLE</c>. Name of the events table. Default: <c>events</c>.</summary>
    public string Table { get; set; } = "events";

    /// <summary>
    /// <c>EB_PG_INDEX_LAYOUT</c> (<c>default</c>, <c>full</c> or <c>minimal</c>). The secondary indexes of the
    /// events table when the library creates it, or adds missing ones (<see cref="RxEventBus.Postgres.IndexLayout"/>;
    /// docs/persistence.md has what each costs). Default: <see cref="IndexLayout.Default"/>.
    /// </summary>
    public IndexLayout IndexLayout { get; set; } = IndexLayout.Default;

    /// <summary>
    /// <c>EB_PG_PAYLOAD_TYPE</c> (<c>jsonb</c>, <c>json</c> or <c>bytea</c>). The type of the events table's
    /// <c>data</c> column when the library creates it (<see cref="RxEventBus.Postgres.PayloadType"/>); an existing
    /// table whose column has another type is refused (a table made while the default was jsonb needs <c>jsonb</c>
    /// here). Default: <see cref="PayloadType.Bytea"/>, the cheapest to write.
    /// </summary>
    public PayloadType PayloadType { get; set; } = PayloadType.Bytea;

    /// <summary>
    /// The events table these options name, with the design they ask for (<see cref="Schema"/>, <see cref="Table"/>,
    /// <see cref="IndexLayout"/>, <see cref="PayloadType"/>).
    /// </summary>
    /// <exception cref="ArgumentException">The schema or table name is not a plain identifier.</exception>
    public EventTable ToEventTable() =>
        new(Schema, Table, new EventTableDesign { Indexes = IndexLayout, Payload = PayloadType, PartitionInterval = PartitionInterval });

    /// <summary>
    /// <c>EB_PG_PARTITION_INTERVAL_IN_MS</c>. Null (the default): the events table is one plain table. Set (whole
    /// minutes, 1 minute to 366 days; e.g. 86400000 for a day): the table is partitioned by <c>expires_at</c>, one
    /// partition per interval, plus a default partition; the consumer makes partitions ahead (at start and at each
    /// <see cref="DeletionPeriod"/>, with <see cref="EnsureSchema"/> on) and the TTL cleaner drops those whose every row
    /// has expired instead of deleting rows (docs/persistence.md, "Time partitions"). Must match the table: a plain
    /// table with this set, or a partitioned one without, is refused with a <see cref="SchemaMismatchException"/>.
    /// </summary>
    public TimeSpan? PartitionInterval { get; set; }

    /// <summary>
    /// <c>EB_PG_ENSURE_SCHEMA</c>. Whether the consumer creates the schema, table and indexes if missing at
    /// start. Turn off to run under a role that may only INSERT, SELECT and DELETE. Default: true.
    /// </summary>
    public bool EnsureSchema { get; set; } = true;

    /// <summary>
    /// <c>EB_PG_NOTIFY</c>. Whether each committed batch sends one notification on
    /// <see cref="EventTable.NotificationChannel"/> (<c>pg_notify</c> inside the batch's transaction, just before
    /// its COMMIT, so PostgreSQL delivers it only if the batch commits): what wakes subscriptions in other
    /// processes at once instead of at their next poll. One per batch, not per event. Default: true.
    /// </summary>
    public bool NotifyOnCommit { get; set; } = true;

    /// <summary>
    /// <c>EB_PG_TTL_SPARES_UNREAD</c>. Whether the TTL cleaner keeps expired rows that a named subscription has
    /// not yet passed (whose <c>(tx, position)</c> is above the lowest checkpoint stored in
    /// <see cref="EventTable.SubscriptionsTable"/>); they go once every subscription has passed them. A
    /// subscription name that is no longer used keeps its checkpoint, and so holds rows back, until its row is
    /// deleted. False deletes every expired row regardless. Default: true.
    /// </summary>
    public bool TtlSparesUnreadEvents { get; set; } = true;

    /// <summary>Name of the consumer's tracked subscription on the bus. Default: <c>postgres</c>.</summary>
    public string SubscriberName { get; set; } = "postgres";

    /// <summary>
    /// First wait before retrying a batch after a failure; doubles up to <see cref="MaxRetryDelay"/>, each wait
    /// shortened by <see cref="RetryJitter"/>. Default: 100 ms.
    /// </summary>
    public TimeSpan InitialRetryDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// The largest share, from 0 to 1 (excluded), by which each retry wait is randomly shortened: a wait is drawn
    /// between its backoff delay × (1 − jitter) and the delay itself, so that the instances of an application that
    /// lost the database together do not all retry at the same moments. 0 waits exactly the backoff delays.
    /// Default: 0.5.
    /// </summary>
    public double RetryJitter { get; set; } = 0.5;

    // Draws the jitter; null: a new Random per consumer, so two consumers never draw alike. Tests seed it.
    internal Random? RetryRandom { get; set; }

    // A copy whose later changes do not reach the original, nor the original's the copy (Topics included).
    internal PostgresPersistenceOptions Copy()
    {
        var copy = (PostgresPersistenceOptions)MemberwiseClone();
        copy.Topics = [.. Topics];
        return copy;
    }

    /// <summary>
    /// Longest wait between retries of a batch. Retries never stop while the consumer runs: a batch is kept until
    /// written (the consumer reports itself degraded meanwhile). Default: 30 s.
    /// </summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long <c>StopAsync</c>/<c>DisposeAsync</c> waits for the buffer to drain and the writers to finish. Default: 30 s.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Turns payloads into the bytes stored in the <c>data</c> column, and back: JSON for a jsonb or json column, any bytes for bytea (<see cref="PayloadType"/>). Default: <see cref="JsonEventSerializer"/> with no topic types.</summary>
    public IEventSerializer Serializer { get; set; } = new JsonEventSerializer();

    /// <summary>
    /// A data source for <see cref="ConnectionString"/> whose pool holds at most <see cref="DatabasePoolSize"/>
    /// connections: the one the consumer builds when it is given none. The caller disposes it.
    /// </summary>
    public NpgsqlDataSource CreateDataSource()
    {
        var builder = new NpgsqlDataSourceBuilder(ConnectionString);
        builder.ConnectionStringBuilder.MaxPoolSize = DatabasePoolSize;
        return builder.Build();
    }

    /// <summary>
    /// Checks every value; throws a <see cref="PostgresConfigurationException"/> (an <see cref="ArgumentException"/>)
    /// whose <see cref="PostgresConfigurationException.Variable"/> is the setting's variable (the property's name for
    /// a setting without one) and whose message names the property, its variable and what it expects.
    /// </summary>
    /// <exception cref="PostgresConfigurationException">A value is invalid.</exception>
    public void Validate() => ThrowIfInvalid(requireConnectionString: true, CodeName);

    // The name of a setting in code: "PoolSize/EB_PG_POOL_SIZE", or just "ShutdownTimeout" for one without a variable.
    internal static string CodeName(string property) => VariableOf(property) is { } variable ? $"{property}/{variable}" : property;

    internal void ThrowIfInvalid(bool requireConnectionString, Func<string, string> name)
    {
        if (FindProblem(requireConnectionString, name) is { } problem)
        {
            throw new PostgresConfigurationException(VariableOf(problem.Property) ?? problem.Property, problem.Message);
        }
    }

    // The first rule broken, or null. The setting at fault is data (Property); every setting a message mentions is
    // named by `name`, which the caller picks: a property and its variable in code, a variable when read from
    // EB_PG_*, a flag on the command line.
    // Why `pattern` is not a topic regex the bus can use, or null. The bus compiles each pattern alone and anchored as
    // ^(?:pattern) (RxEventBus's TopicPatterns); both are tried here only to fail at start, not to be kept.
    internal static string? RegexProblem(string pattern)
    {
        try
        {
            _ = new Regex(pattern, RegexOptions.CultureInvariant);
            _ = new Regex("^(?:" + pattern + ")", RegexOptions.CultureInvariant);
            return null;
        }
        catch (ArgumentException e)
        {
            return e.Message;
        }
    }

    internal (string Property, string Message)? FindProblem(bool requireConnectionString, Func<string, string> name)
    {
        if (requireConnectionString && string.IsNullOrWhiteSpace(ConnectionString))
        {
            return (nameof(ConnectionString),
                $"{name(nameof(ConnectionString))} is required: postgres://user:pass@host:port/db or Host=…;Username=…;Database=….");
        }

        var problem =
            Positive(DatabasePoolSize, nameof(DatabasePoolSize), name) ??
            Positive(BufferSize, nameof(BufferSize), name) ??
            Positive(PoolSize, nameof(PoolSize), name) ??
            Positive(MaxBatchSize, nameof(MaxBatchSize), name);
        if (problem is not null)
        {
            return problem;
        }

        if (MinDemand < 0)
        {
            return (nameof(MinDemand), $"{name(nameof(MinDemand))} must be a whole number of 0 or more, not {MinDemand}.");
        }

        if (PoolSize > DatabasePoolSize)
        {
            return (nameof(PoolSize),
                $"{name(nameof(PoolSize))} must not exceed {name(nameof(DatabasePoolSize))} ({DatabasePoolSize}), since each writer holds a connection, " +
                $"but is '{PoolSize}'.");
        }

        if (Topics is null || Topics.Count == 0 || Topics.Any(string.IsNullOrEmpty))
        {
            return (nameof(Topics), $"{name(nameof(Topics))} must hold at least one non-empty regex, e.g. \".*\".");
        }

        foreach (var topic in Topics)
        {
            if (RegexProblem(topic) is { } error)
            {
                return (nameof(Topics), $"{name(nameof(Topics))} must hold regexes (e.g. \"user_.*\"), but '{topic}' is not one: {error}");
            }
        }

        if (!Enum.IsDefined(Overflow))
        {
            return (nameof(Overflow), $"{name(nameof(Overflow))} must be {OverflowChoices}, not {(int)Overflow}.");
        }

        problem =
            PositiveTime(MaxBatchDelay, nameof(MaxBatchDelay), name) ??
            PositiveTime(DefaultTtl, nameof(DefaultTtl), name);
        if (problem is not null)
        {
            return problem;
        }

        if (DefaultTtl > MaxTtl)
        {
            return (nameof(DefaultTtl),
                $"{name(nameof(DefaultTtl))} must be at most 1,000 years ({MaxTtl.TotalMilliseconds:F0} ms), since an " +
                $"event's expiry must fit a date, not {DefaultTtl}.");
        }

        if (PositiveTime(PublishTimeout, nameof(PublishTimeout), name) is { } timeout)
        {
            return timeout;
        }

        if (PublishTimeout > MaxPublishTimeout)
        {
            return (nameof(PublishTimeout),
                $"{name(nameof(PublishTimeout))} must be at most 24 days ({MaxPublishTimeout.TotalMilliseconds:F0} ms), " +
                $"the longest a scheduler's timer can wait, not {PublishTimeout}.");
        }

        problem =
            PositiveTime(DeletionPeriod, nameof(DeletionPeriod), name) ??
            PositiveTime(InitialRetryDelay, nameof(InitialRetryDelay), name) ??
            PositiveTime(MaxRetryDelay, nameof(MaxRetryDelay), name) ??
            PositiveTime(ShutdownTimeout, nameof(ShutdownTimeout), name);
        if (problem is not null)
        {
            return problem;
        }

        if (!(RetryJitter >= 0 && RetryJitter < 1))
        {
            return (nameof(RetryJitter), $"{name(nameof(RetryJitter))} must be from 0 up to (but not) 1, not {RetryJitter}.");
        }

        if (MaxRetryDelay < InitialRetryDelay)
        {
            return (nameof(MaxRetryDelay),
                $"{name(nameof(MaxRetryDelay))} ({MaxRetryDelay}) must not be shorter than {name(nameof(InitialRetryDelay))} ({InitialRetryDelay}).");
        }

        if (string.IsNullOrWhiteSpace(SubscriberName))
        {
            return (nameof(SubscriberName), $"{name(nameof(SubscriberName))} must not be empty.");
        }

        if (Serializer is null)
        {
            return (nameof(Serializer), $"{name(nameof(Serializer))} must not be null.");
        }

        if (!Enum.IsDefined(IndexLayout))
        {
            return (nameof(IndexLayout), $"{name(nameof(IndexLayout))} must be {IndexLayoutChoices}, not {(int)IndexLayout}.");
        }

        if (PartitionInterval is { } interval && EventTableDesign.PartitionIntervalProblem(interval, name(nameof(PartitionInterval))) is { } partitionProblem)
        {
            return (nameof(PartitionInterval), partitionProblem);
        }

        if (!Enum.IsDefined(PayloadType))
        {
            return (nameof(PayloadType), $"{name(nameof(PayloadType))} must be {PayloadTypeChoices}, not {(int)PayloadType}.");
        }

        return Identifier(Schema, nameof(Schema), name) ?? Identifier(Table, nameof(Table), name);
    }

    private static (string, string)? Positive(int value, string property, Func<string, string> name) =>
        value <= 0 ? (property, $"{name(property)} must be a positive whole number, not {value}.") : null;

    private static (string, string)? PositiveTime(TimeSpan value, string property, Func<string, string> name) =>
        value <= TimeSpan.Zero ? (property, $"{name(property)} must be positive, not {value}.") : null;

    // EventTable holds the identifier rules (pattern, length).
    private static (string, string)? Identifier(string value, string property, Func<string, string> name) =>
        (property == nameof(Schema) ? EventTable.SchemaProblem(value, name(property)) : EventTable.TableProblem(value, name(property))) is { } problem
            ? (property, problem)
            : null;
}
