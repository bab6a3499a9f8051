using Npgsql;

namespace RxEventBus.Postgres.Tests.Support;

/// <summary>Events and tables for the store tests.</summary>
internal static class TestEvents
{
    /// <summary>A whole-second UTC time the tests count from.</summary>
    internal static readonly DateTimeOffset T0 = new(2024, 5, 1, 12, 0, 0, TimeSpan.Zero);

    internal static Event Create(
        string topic, DateTimeOffset? occurredAt, TimeSpan? ttl = null, Guid? transactionId = null, int n = 0) => new()
    {
        Id = Guid.NewGuid(),
        Topic = topic,
        Data = new Payload(n, topic),
        OccurredAt = occurredAt,
        Ttl = ttl,
        TransactionId = transactionId,
    };

    /// <summary>A fresh schema with the events table and its indexes in it.</summary>
    internal static async Task<EventTable> CreateTableAsync(PostgresFixture fixture, string prefix, string table = "events")
    {
        var eventTable = new EventTable(await fixture.CreateSchemaAsync(prefix), table);
        await SchemaManager.EnsureSchemaAsync(fixture.DataSource, eventTable);
        return eventTable;
    }

    internal static Task<ulong> InsertAsync(NpgsqlDataSource dataSource, EventTable table, params Event[] events) =>
        TestRows.InsertAsync(dataSource, table, new JsonEventSerializer(), events);

    internal sealed record Payload(int N, string Topic);
}
