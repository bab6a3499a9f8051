using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using RxEventBus.Hosting;
using RxEventBus.Postgres;

namespace RxEventBus.Dashboard.Internal;

/// <summary>
/// What the dashboard reads, found in the app's services once, on the first request (the app's container is built
/// by then; at map time it may not be): the bus (required); the persistence consumer, registered by
/// AddPostgresPersistence inside <see cref="PostgresPersistenceService"/> or on its own; else an
/// <see cref="EventStore"/> and a <see cref="DeadLetterStore"/> registered alone.
/// </summary>
internal sealed class DashboardSources : IAsyncDisposable
{
    private readonly NpgsqlDataSource? _ownedDataSource;

    private DashboardSources(IServiceProvider services)
    {
        Bus = services.GetService<EventBus>() ?? throw new InvalidOperationException(
            "The RxEventBus dashboard needs an EventBus in the app's services: register one with services.AddRxEventBus(…) " +
            "or services.AddSingleton(bus).");
        Consumer = services.GetService<PostgresConsumer>() ?? services.GetService<PostgresPersistenceService>()?.Consumer;
        var store = Consumer?.Store ?? services.GetService<EventStore>();
        DeadLetters = Consumer?.DeadLetterStore ?? services.GetService<DeadLetterStore>();
        Table = Consumer?.Table ?? store?.Table ?? DeadLetters?.Table;
        DefaultTtl = (Consumer?.Options ?? services.GetService<PostgresPersistenceOptions>() ?? new PostgresPersistenceOptions()).DefaultTtl;
        Serializer = services.GetService<IEventSerializer>() ?? Consumer?.Options.Serializer ?? new JsonEventSerializer();

        // A data source to read with a serializer that shows a non-JSON payload as bytes (and, for the tail, to
        // follow the table): the app's own, else one made from the consumer's connection string. The consumer's
        // own data source is private to it.
        DataSource = services.GetService<NpgsqlDataSource>();
        if (DataSource is null && Table is not null && Consumer is { Options.ConnectionString: { Length: > 0 } })
        {
            DataSource = _ownedDataSource = Consumer.Options.CreateDataSource();
        }

        Store = store is null
            ? null
            : DataSource is not null
                ? new EventStore(DataSource, store.Table, new PrintablePayloadSerializer(Serializer), Bus.Scheduler)
                : store;
    }

    public EventBus Bus { get; }

    public PostgresConsumer? Consumer { get; }

    /// <summary>Stored events, or null when neither a consumer nor an <see cref="EventStore"/> is registered.</summary>
    public EventStore? Store { get; }

    public DeadLetterStore? DeadLetters { get; }

    public EventTable? Table { get; }

    public IEventSerializer Serializer { get; }

    /// <summary>The ttl a replayed dead letter without one gets (the persistence options' DefaultTtl).</summary>
    public TimeSpan DefaultTtl { get; }

    /// <summary>The database to follow the table with (the tail); null when none can be had.</summary>
    public NpgsqlDataSource? DataSource { get; }

    public static DashboardSources Resolve(IServiceProvider services)
    {
        var sources = new DashboardSources(services);
        if (sources._ownedDataSource is not null)
        {
            // The data source made here lives as long as the app; release its connections when the app stops.
            services.GetService<IHostApplicationLifetime>()?.ApplicationStopped.Register(
                static state => ((DashboardSources)state!).DisposeAsync().AsTask().GetAwaiter().GetResult(), sources);
        }

        return sources;
    }

    public ValueTask DisposeAsync() => _ownedDataSource?.DisposeAsync() ?? ValueTask.CompletedTask;
}
