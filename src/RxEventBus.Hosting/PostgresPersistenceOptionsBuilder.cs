using RxEventBus.Postgres;

namespace RxEventBus.Hosting;

/// <summary>
/// The persistence settings as <c>AddPostgresPersistence</c> read them from configuration, open to changes
/// in code before they are checked: each property starts at the configured value (or the default documented
/// on the <see cref="PostgresPersistenceOptions"/> property of the same name), and what the configure action
/// sets wins.
/// </summary>
/// <remarks>Code-only settings, such as <see cref="Serializer"/> with the payload types of each topic, are set here.</remarks>
public sealed class PostgresPersistenceOptionsBuilder
{
    internal PostgresPersistenceOptionsBuilder(PostgresPersistenceOptions configured)
    {
        Enabled = configured.Enabled;
        ConnectionString = configured.ConnectionString;
        DatabasePoolSize = configured.DatabasePoolSize;
        Topics = [.. configured.Topics];
        BufferSize = configured.BufferSize;
        Overflow = configured.Overflow;
        PublishTimeout = configured.PublishTimeout;
        PoolSize = configured.PoolSize;
        MaxBatchSize = configured.MaxBatchSize;
        MinDemand = configured.MinDemand;
        MaxBatchDelay = configured.MaxBatchDelay;
        AutoDeleteWithTtl = configured.AutoDeleteWithTtl;
        DefaultTtl = configured.DefaultTtl;
        DeletionPeriod = configured.DeletionPeriod;
        Schema = configured.Schema;
        Table = configured.Table;
        EnsureSchema = configured.EnsureSchema;
        SubscriberName = configured.SubscriberName;
        InitialRetryDelay = configured.InitialRetryDelay;
        MaxRetryDelay = configured.MaxRetryDelay;
        ShutdownTimeout = configured.ShutdownTimeout;
        Serializer = configured.Serializer;
    }

    /// <inheritdoc cref="PostgresPersistenceOptions.Enabled"/>
    public bool Enabled { get; set; }

    /// <inheritdoc cref="PostgresPersistenceOptions.ConnectionString"/>
    /// <remarks>An Npgsql connection string; a <c>postgres://</c> URL can be turned into one with <see cref="DatabaseUrl.ToConnectionString"/>.</remarks>
    public string ConnectionString { get; set; }

    /// <inheritdoc cref="PostgresPersistenceOptions.DatabasePoolSize"/>
    public int DatabasePoolSize { get; set; }

    /// <inheritdoc cref="PostgresPersistenceOptions.Topics"/>
    public IList<string> Topics { get; }

    /// <inheritdoc cref="PostgresPersistenceOptions.BufferSize"/>
    public int BufferSize { get; set; }

    /// <inheritdoc cref="PostgresPersistenceOptions.Overflow"/>
    public OverflowPolicy Overflow { get; set; }

    /// <inheritdoc cref="PostgresPersistenceOptions.PublishTimeout"/>
    public TimeSpan PublishTimeout { get; set; }

    /// <inheritdoc cref="PostgresPersistenceOptions.PoolSize"/>
    public int PoolSize { get; set; }

    /// <inheritdoc cref="PostgresPersistenceOptions.MaxBatchSize"/>
    public int MaxBatchSize { get; set; }

    /// <inheritdoc cref="PostgresPersistenceOptions.MinDemand"/>
    public int MinDemand { get; set; }

    /// <inheritdoc cref="PostgresPersistenceOptions.MaxBatchDelay"/>
    public TimeSpan MaxBatchDelay { get; set; }

    /// <inheritdoc cref="PostgresPersistenceOptions.AutoDeleteWithTtl"/>
    public bool AutoDeleteWithTtl { get; set; }

    /// <inheritdoc cref="PostgresPersistenceOptions.DefaultTtl"/>
    public TimeSpan DefaultTtl { get; set; }

    /// <inheritdoc cref="PostgresPersistenceOptions.DeletionPeriod"/>
    public TimeSpan DeletionPeriod { get; set; }

    /// <inheritdoc cref="PostgresPersistenceOptions.Schema"/>
    public string Schema { get; set; }

    /// <inheritdoc cref="PostgresPersistenceOptions.Table"/>
    public string Table { get; set; }

    /// <inheritdoc cref="PostgresPersistenceOptions.EnsureSchema"/>
    public bool EnsureSchema { get; set; }

    /// <inheritdoc cref="PostgresPersistenceOptions.SubscriberName"/>
    public string SubscriberName { get; set; }

    /// <inheritdoc cref="PostgresPersistenceOptions.InitialRetryDelay"/>
    public TimeSpan InitialRetryDelay { get; set; }

    /// <inheritdoc cref="PostgresPersistenceOptions.MaxRetryDelay"/>
    public TimeSpan MaxRetryDelay { get; set; }

    /// <inheritdoc cref="PostgresPersistenceOptions.ShutdownTimeout"/>
    public TimeSpan ShutdownTimeout { get; set; }

    /// <inheritdoc cref="PostgresPersistenceOptions.Serializer"/>
    public IEventSerializer Serializer { get; set; }

    /// <summary>
    /// The options with every change applied, checked (<see cref="PostgresPersistenceOptions.Validate()"/>)
    /// while persistence is enabled; a disabled consumer never runs, so only the configured values were checked.
    /// </summary>
    /// <exception cref="ArgumentException">A value is invalid; the message names the setting and its variable.</exception>
    public PostgresPersistenceOptions Build()
    {
        var options = new PostgresPersistenceOptions
        {
            Enabled = Enabled,
            ConnectionString = ConnectionString,
            DatabasePoolSize = DatabasePoolSize,
            Topics = [.. Topics],
            BufferSize = BufferSize,
            Overflow = Overflow,
            PublishTimeout = PublishTimeout,
            PoolSize = PoolSize,
            MaxBatchSize = MaxBatchSize,
            MinDemand = MinDemand,
            MaxBatchDelay = MaxBatchDelay,
            AutoDeleteWithTtl = AutoDeleteWithTtl,
            DefaultTtl = DefaultTtl,
            DeletionPeriod = DeletionPeriod,
            Schema = Schema,
            Table = Table,
            EnsureSchema = EnsureSchema,
            SubscriberName = SubscriberName,
            InitialRetryDelay = InitialRetryDelay,
            MaxRetryDelay = MaxRetryDelay,
            ShutdownTimeout = ShutdownTimeout,
            Serializer = Serializer,
        };
        if (options.Enabled)
        {
            options.Validate();
        }

        return options;
    }
}
