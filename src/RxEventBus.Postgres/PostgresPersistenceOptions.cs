using Npgsql;

namespace RxEventBus.Postgres;

/// <summary>
/// Settings of the persistence consumer. Each has the default of <c>event_bus_postgres</c> where the seed has
/// one, and can be read from the seed's environment variables (<c>FromEnvironment</c>); the variable
/// is named in each property's documentation.
/// </summary>
public sealed partial class PostgresPersistenceOptions
{
    /// <summary><c>EB_PG_ENABLED</c>. Whether the consumer runs at all. Default: true.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>
    /// <c>EB_PG_DATABASE_URL</c>, in either <c>postgres://user:pass@host:port/db</c> or Npgsql
    /// <c>Host=…;Username=…</c> form (normalized to the latter). Required.
    /// </summary>
    public string ConnectionString { get; init; } = string.Empty;

    /// <summary><c>EB_PG_DATABASE_POOL_SIZE</c>. Most connections the consumer opens. Default: 10.</summary>
    public int DatabasePoolSize { get; init; } = 10;

    /// <summary><c>EB_PG_TOPICS</c> (<c>;</c>-separated). Regexes of the topics to persist. Default: <c>.*</c>.</summary>
    public IReadOnlyList<string> Topics { get; init; } = [".*"];

    /// <summary>
    /// <c>EB_PG_BUFFER_SIZE</c>. Events held between the bus and the batcher. Default: 10,000, room for two
    /// batches (the seed's 200, with its batches of 100, ran at a third of the speed; see docs/benchmarks.md).
    /// </summary>
    public int BufferSize { get; init; } = 10_000;

    /// <summary><c>EB_PG_OVERFLOW</c> (<c>wait</c>, <c>drop_oldest</c>, <c>drop_newest</c>, <c>fail</c>). What
    /// happens when the buffer is full. Default: <see cref="OverflowPolicy.Wait"/>.</summary>
    public OverflowPolicy Overflow { get; init; } = OverflowPolicy.Wait;

    /// <summary>
    /// <c>EB_PG_PUBLISH_TIMEOUT_IN_MS</c>. Under <see cref="OverflowPolicy.Wait"/>, the longest a publisher waits for
    /// room in a full buffer (on the bus's scheduler); then it gets an <see cref="EventRejectedException"/> and the
    /// event is not persisted. Long enough to ride out a database restart, short enough that a publisher never
    /// hangs. At most <see cref="MaxPublishTimeout"/>. Default: 30 s.
    /// <para>The timeout fires on the scheduler, so the scheduler must run its timers on another thread than the
    /// blocked publisher (the default scheduler does; a UI dispatcher, or a test scheduler advanced by the publishing
    /// thread itself, does not): with such a scheduler, publish from another thread, or use another overflow policy.</para>
    /// </summary>
    public TimeSpan PublishTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The longest <see cref="PublishTimeout"/>: 24 days, about the longest a timer of the default scheduler can wait.</summary>
    public static readonly TimeSpan MaxPublishTimeout = TimeSpan.FromDays(24);

    /// <summary><c>EB_PG_POOL_SIZE</c>. Batch writers running at once. Default: 1.</summary>
    public int PoolSize { get; init; } = 1;

    /// <summary>
    /// <c>EB_PG_MAX_DEMAND</c> (or its alias <c>EB_PG_BATCH_SIZE</c>). Most events in one batch: a batch is
    /// written when it has this many, or when its oldest event is <see cref="MaxBatchDelay"/> old. Default: 5,000
    /// (the seed's 100 is a commit per 100 events under load; a quiet stream's batches are cut by age anyway).
    /// </summary>
    public int MaxBatchSize { get; init; } = 5_000;

    /// <summary>
    /// <c>EB_PG_MIN_DEMAND</c>. Read and checked (not negative) so the seed's
    /// configurations keep working, but without effect: in a pull pipeline a writer asks for the next batch
    /// as soon as it is free, which is what GenStage's refill threshold approximates. Default: 75.
    /// </summary>
    public int MinDemand { get; init; } = 75;

    /// <summary>
    /// <c>EB_PG_BATCH_DELAY_IN_MS</c>. Oldest an event may be in a batch being filled before the batch is
    /// written anyway (a maximum age, timed from the batch's first event, not a debounce). Default: 50 ms.
    /// </summary>
    public TimeSpan MaxBatchDelay { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary><c>EB_PG_AUTO_DELETE_WITH_TTL</c>. Whether expired rows are deleted periodically. Default: true.</summary>
    public bool AutoDeleteWithTtl { get; init; } = true;

    /// <summary>
    /// <c>EB_PG_DEFAULT_TTL_IN_MS</c>. Ttl of events that have none; at most <see cref="MaxTtl"/>. Default: 900000 ms
    /// (15 minutes).
    /// </summary>
    public TimeSpan DefaultTtl { get; init; } = TimeSpan.FromMilliseconds(900_000);

    /// <summary>
    /// The longest <see cref="DefaultTtl"/>: 1,000 years. An expiry is computed as the event's time plus its ttl
    /// and must fit a date (up to year 9999); an event whose own ttl is too long for that becomes a dead letter.
    /// </summary>
    public static readonly TimeSpan MaxTtl = TimeSpan.FromDays(365_250);

    /// <summary><c>EB_PG_DELETION_PERIOD_IN_MS</c>. How often expired rows are deleted. Default: 600000 ms (10 minutes).</summary>
    public TimeSpan DeletionPeriod { get; init; } = TimeSpan.FromMilliseconds(600_000);

    /// <summary><c>EB_PG_SCHEMA</c>. Schema of the events table. Default: <c>public</c>.</summary>
    public string Schema { get; init; } = "public";

    /// <summary><c>EB_PG_TABLE</c>. Name of the events table. Default: <c>events</c>.</summary>
    public string Table { get; init; } = "events";

    /// <summary>
    /// <c>EB_PG_ENSURE_SCHEMA</c>. Whether the consumer creates the schema, table and indexes if missing at
    /// start. Turn off to run under a role that may only INSERT, SELECT and DELETE. Default: true.
    /// </summary>
    public bool EnsureSchema { get; init; } = true;

    /// <summary>Name of the consumer's tracked subscription on the bus. Default: <c>postgres</c>.</summary>
    public string SubscriberName { get; init; } = "postgres";

    /// <summary>
    /// First wait before retrying a batch after a failure; doubles up to <see cref="MaxRetryDelay"/>, each wait
    /// shortened by <see cref="RetryJitter"/>. Default: 100 ms.
    /// </summary>
    public TimeSpan InitialRetryDelay { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// The largest share, from 0 to 1 (excluded), by which each retry wait is randomly shortened: a wait is drawn
    /// between its backoff delay × (1 − jitter) and the delay itself, so that the instances of an application that
    /// lost the database together do not all retry at the same moments. 0 waits exactly the backoff delays.
    /// Default: 0.5.
    /// </summary>
    public double RetryJitter { get; init; } = 0.5;

    // Draws the jitter; null: a new Random per consumer, so two consumers never draw alike. Tests seed it.
    internal Random? RetryRandom { get; init; }

    /// <summary>
    /// Longest wait between retries of a batch. Retries never stop while the consumer runs: a batch is kept until
    /// written (the consumer reports itself degraded meanwhile). Default: 30 s.
    /// </summary>
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long <c>StopAsync</c>/<c>DisposeAsync</c> waits for the buffer to drain and the writers to finish. Default: 30 s.</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Turns payloads into the JSON stored in the <c>data</c> column, and back. Default: <see cref="JsonEventSerializer"/> with no topic types.</summary>
    public IEventSerializer Serializer { get; init; } = new JsonEventSerializer();

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

    /// <summary>Checks every value; throws <see cref="ArgumentException"/> naming the option and what it expects.</summary>
    public void Validate() => Validate(requireConnectionString: true);

    internal void Validate(bool requireConnectionString)
    {
        if (requireConnectionString && string.IsNullOrWhiteSpace(ConnectionString))
        {
            throw new ArgumentException("ConnectionString (EB_PG_DATABASE_URL) is required: postgres://user:pass@host:port/db or Host=…;Username=…;Database=….");
        }

        Positive(DatabasePoolSize, nameof(DatabasePoolSize), "EB_PG_DATABASE_POOL_SIZE");
        Positive(BufferSize, nameof(BufferSize), "EB_PG_BUFFER_SIZE");
        Positive(PoolSize, nameof(PoolSize), "EB_PG_POOL_SIZE");
        Positive(MaxBatchSize, nameof(MaxBatchSize), "EB_PG_MAX_DEMAND");
        if (MinDemand < 0)
        {
            throw new ArgumentException($"MinDemand (EB_PG_MIN_DEMAND) must be a whole number of 0 or more, not {MinDemand}.");
        }

        if (PoolSize > DatabasePoolSize)
        {
            throw new ArgumentException(
                $"PoolSize (EB_PG_POOL_SIZE, {PoolSize} writers) must not exceed DatabasePoolSize (EB_PG_DATABASE_POOL_SIZE, {DatabasePoolSize} connections).");
        }

        if (Topics is null || Topics.Count == 0 || Topics.Any(string.IsNullOrEmpty))
        {
            throw new ArgumentException("Topics (EB_PG_TOPICS) must hold at least one non-empty regex, e.g. \".*\".");
        }

        if (!Enum.IsDefined(Overflow))
        {
            throw new ArgumentException($"Overflow (EB_PG_OVERFLOW) must be wait, drop_oldest, drop_newest or fail, not {(int)Overflow}.");
        }

        PositiveTime(MaxBatchDelay, nameof(MaxBatchDelay), "EB_PG_BATCH_DELAY_IN_MS");
        PositiveTime(DefaultTtl, nameof(DefaultTtl), "EB_PG_DEFAULT_TTL_IN_MS");
        if (DefaultTtl > MaxTtl)
        {
            throw new ArgumentException(
                $"DefaultTtl (EB_PG_DEFAULT_TTL_IN_MS) must be at most 1,000 years ({MaxTtl.TotalMilliseconds:F0} ms), since an " +
                $"event's expiry must fit a date, not {DefaultTtl}.");
        }

        PositiveTime(PublishTimeout, nameof(PublishTimeout), "EB_PG_PUBLISH_TIMEOUT_IN_MS");
        if (PublishTimeout > MaxPublishTimeout)
        {
            throw new ArgumentException(
                $"PublishTimeout (EB_PG_PUBLISH_TIMEOUT_IN_MS) must be at most 24 days ({MaxPublishTimeout.TotalMilliseconds:F0} ms), " +
                $"the longest a scheduler's timer can wait, not {PublishTimeout}.");
        }
        PositiveTime(DeletionPeriod, nameof(DeletionPeriod), "EB_PG_DELETION_PERIOD_IN_MS");
        PositiveTime(InitialRetryDelay, nameof(InitialRetryDelay), null);
        PositiveTime(MaxRetryDelay, nameof(MaxRetryDelay), null);
        PositiveTime(ShutdownTimeout, nameof(ShutdownTimeout), null);
        if (!(RetryJitter >= 0 && RetryJitter < 1))
        {
            throw new ArgumentException($"RetryJitter must be from 0 up to (but not) 1, not {RetryJitter}.");
        }

        if (MaxRetryDelay < InitialRetryDelay)
        {
            throw new ArgumentException($"MaxRetryDelay ({MaxRetryDelay}) must not be shorter than InitialRetryDelay ({InitialRetryDelay}).");
        }

        ArgumentException.ThrowIfNullOrWhiteSpace(SubscriberName, nameof(SubscriberName));
        ArgumentNullException.ThrowIfNull(Serializer, nameof(Serializer));
        _ = new EventTable(Schema, Table);
    }

    private static void Positive(int value, string name, string variable)
    {
        if (value <= 0)
        {
            throw new ArgumentException($"{name} ({variable}) must be a positive whole number, not {value}.");
        }
    }

    private static void PositiveTime(TimeSpan value, string name, string? variable)
    {
        if (value <= TimeSpan.Zero)
        {
            var source = variable is null ? name : $"{name} ({variable})";
            throw new ArgumentException($"{source} must be positive, not {value}.");
        }
    }
}
