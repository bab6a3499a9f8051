using System.Text.Json;
using RxEventBus.Postgres;

namespace RxEventBus.PipelineBench;

// The payload every contender stores. Serialized by the library's default JsonEventSerializer it is about
// 100 bytes of JSON, the size the issue asks for (the run prints the exact mean).
internal sealed record OrderPlaced(long OrderId, string Customer, decimal Amount, string Currency, int Items, string Channel);

// One row as the library's mapper makes it: the event, its JSON and its UTC times. Contenders (a), (b) and
// (c) write these; (d) makes its own from the same events inside the library.
internal sealed record BenchRow(Event Event, byte[] Data, DateTimeOffset? InitializedAt, DateTimeOffset? OccurredAt, DateTimeOffset? ExpiresAt);

// The same N events for every contender, generated once before any clock starts: UUIDv7 ids in time order
// (so the primary-key index stays append-only, as with the bus's default id generator), a transaction id,
// a topic, a source, both times, and the library's default ttl for expires_at.
internal sealed class Workload
{
    internal const string Topic = "orders.placed";
    internal const string Source = "PipelineBench";

    // PostgresPersistenceOptions.DefaultTtl's default: expires_at = occurred_at + this when an event has none.
    internal static readonly TimeSpan DefaultTtl = new PostgresPersistenceOptions().DefaultTtl;

    private static readonly string[] Currencies = ["EUR", "USD", "GBP", "CHF"];
    private static readonly string[] Channels = ["web", "mobile", "store", "partner"];

    private Workload(Event[] events, BenchRow[] rows)
    {
        Events = events;
        Rows = rows;
        MeanPayloadBytes = rows.Length == 0 ? 0 : rows.Average(r => (double)r.Data.Length);
    }

    internal Event[] Events { get; }

    internal BenchRow[] Rows { get; }

    internal double MeanPayloadBytes { get; }

    internal int Count => Events.Length;

    internal static Workload Generate(int count)
    {
        var events = new Event[count];
        var rows = new BenchRow[count];
        var start = DateTimeOffset.UtcNow;
        for (var i = 0; i < count; i++)
        {
            var @event = CreateEvent(i, start.AddTicks(i * 10L));
            events[i] = @event;
            rows[i] = Map(@event);
        }

        return new Workload(events, rows);
    }

    // Event i of a stream, made on the fly (the memory mode must not hold N events in memory).
    internal static Event CreateEvent(long i, DateTimeOffset occurredAt) => new()
    {
        Id = Guid.CreateVersion7(occurredAt),
        TransactionId = Guid.CreateVersion7(occurredAt),
        Topic = Topic,
        Data = new OrderPlaced(
            1_000_000_000 + i,
            "customer-" + (i % 100_000).ToString("D6", System.Globalization.CultureInfo.InvariantCulture),
            ((i % 100_000) + 1) / 100m,
            Currencies[i % Currencies.Length],
            (int)(i % 9) + 1,
            Channels[i % Channels.Length]),
        InitializedAt = occurredAt.AddTicks(-1_000),
        OccurredAt = occurredAt,
        Source = Source,
    };

    // What EventMapper does for a valid event, done ahead of time for the contenders that are not the library.
    // The JSON is JsonEventSerializer's with its default options, byte for byte.
    internal static BenchRow Map(Event @event)
    {
        var data = JsonSerializer.SerializeToUtf8Bytes(@event.Data, @event.Data.GetType(), JsonSerializerOptions.Default);
        var occurredAt = @event.OccurredAt?.ToUniversalTime();
        return new BenchRow(@event, data, @event.InitializedAt?.ToUniversalTime(), occurredAt, occurredAt + (@event.Ttl ?? DefaultTtl));
    }
}
