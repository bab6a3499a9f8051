using System.Reactive.Concurrency;
using Npgsql;

namespace RxEventBus.Postgres;

/// <summary>TEMPORARY until the store branch lands.</summary>
public sealed class EventStore
{
    /// <summary>Temporary.</summary>
    public EventStore(NpgsqlDataSource dataSource, EventTable table, IEventSerializer serializer, IScheduler scheduler)
    {
        _ = dataSource;
        _ = table;
        _ = serializer;
        _ = scheduler;
    }
}
