using System.Text.Json;
using Npgsql;
using RxEventBus.Postgres;

namespace RxEventBus.PipelineBench.Contenders;

// The catch-up mode's readers: each reads the stored table from its first row to its last, in (tx, position)
// order, and returns how many events it saw and the id of the last one (the mode checks both against the
// table). "raw" is the baseline the issue names: one SELECT of the same columns the subscription reads,
// streamed with NpgsqlDataReader over one connection, every column read as its .NET type and data as text.
// "sub" is EventSubscription.ReadAsync from Beginning, anonymous, with the library's JsonEventSerializer
// ("sub-named": the same under a new name per run, so it leads and stores checkpoints as it reads); its
// variants change only what the harness may change from outside src/ — the serializer and the page size — to
// show what each part of the per-event work costs.
internal static class LogReaders
{
    // The columns of PostgresLogSession's page query, in its order; data as text (json, jsonb), or as its bytes
    // in a bytea table (as text it would come as hex, twice the bytes, and a reader would have to decode it).
    internal const string Columns = "tx, position, id, transaction_id, topic, data::text, initialized_at, occurred_at, source, ttl";

    internal const string ByteaColumns = "tx, position, id, transaction_id, topic, data, initialized_at, occurred_at, source, ttl";

    private static string ColumnsOf(EventTable table) => table.Design.Payload == PayloadType.Bytea ? ByteaColumns : Columns;

    internal static string Describe(string key, int pageSize) => key switch
    {
        "raw" => $"SELECT {Columns} FROM t ORDER BY tx, position: one statement, NpgsqlDataReader, every column read (data as bytes in a bytea table)",
        "raw-parse" => "raw, plus JsonSerializer.Deserialize<JsonElement> of each row's data (what a raw reader pays to get (sub)'s payload)",
        "sub" => $"EventSubscription.ReadAsync from Beginning, JsonEventSerializer (payload as JsonElement), PageSize {pageSize}",
        "sub-named" => $"sub with a new Name per run (leader lock, a checkpoint stored every 1,000 events), PageSize {pageSize}",
        "sub-typed" => $"sub with JsonEventSerializer.MapTopic<OrderPlaced> (payload as the record), PageSize {pageSize}",
        "sub-bytes" => $"sub with a serializer that keeps the payload's UTF-8 bytes (no JSON parsing), PageSize {pageSize}",
        "sub-none" => $"sub with a serializer that returns one shared object (payload not read at all), PageSize {pageSize}",
        _ => throw new ArgumentException($"Unknown reader '{key}'."),
    };

    // `expected`: the table's row count; with `warmUp`, fewer, and raw's statement then has a LIMIT (the
    // measured one has none: it is the plain ordered SELECT).
    internal static Task<(long Count, Guid Last)> ReadAsync(
        string key, NpgsqlDataSource dataSource, EventTable table, long expected, int pageSize, bool warmUp = false) => key switch
    {
        "raw" => RawAsync(dataSource, table, warmUp ? expected : null, parse: false),
        "raw-parse" => RawAsync(dataSource, table, warmUp ? expected : null, parse: true),
        "sub" => SubscriptionAsync(dataSource, table, new JsonEventSerializer(), expected, pageSize),
        "sub-named" => SubscriptionAsync(dataSource, table, new JsonEventSerializer(), expected, pageSize, name: "bench-" + Guid.NewGuid().ToString("N")),
        "sub-typed" => SubscriptionAsync(dataSource, table, new JsonEventSerializer().MapTopic<OrderPlaced>(Workload.Topic), expected, pageSize),
        "sub-bytes" => SubscriptionAsync(dataSource, table, new BytesSerializer(), expected, pageSize),
        "sub-none" => SubscriptionAsync(dataSource, table, new NoPayloadSerializer(), expected, pageSize),
        _ => throw new ArgumentException($"Unknown reader '{key}'."),
    };

    internal static string RawQuery(EventTable table) => $"SELECT {ColumnsOf(table)} FROM {table.QualifiedName} ORDER BY tx, position";

    private static async Task<(long Count, Guid Last)> RawAsync(NpgsqlDataSource dataSource, EventTable table, long? limit, bool parse)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        var query = limit is { } n ? RawQuery(table) + " LIMIT " + n.ToString(System.Globalization.CultureInfo.InvariantCulture) : RawQuery(table);
        await using var command = new NpgsqlCommand(query, connection);
        await using var reader = await command.ExecuteReaderAsync();
        long count = 0;
        long checksum = 0;
        var last = Guid.Empty;
        var bytes = table.Design.Payload == PayloadType.Bytea;
        while (await reader.ReadAsync())
        {
            var tx = reader.GetFieldValue<ulong>(0);
            var position = reader.GetInt64(1);
            last = reader.GetGuid(2);
            Guid? transactionId = reader.IsDBNull(3) ? null : reader.GetGuid(3);
            var topic = reader.GetString(4);
            var text = bytes ? null : reader.GetString(5);
            var utf8 = bytes ? reader.GetFieldValue<byte[]>(5) : null;
            DateTime? initializedAt = reader.IsDBNull(6) ? null : reader.GetDateTime(6);
            DateTime? occurredAt = reader.IsDBNull(7) ? null : reader.GetDateTime(7);
            var source = reader.IsDBNull(8) ? null : reader.GetString(8);
            TimeSpan? ttl = reader.IsDBNull(9) ? null : reader.GetFieldValue<TimeSpan>(9);
            if (parse)
            {
                var element = utf8 is null ? JsonSerializer.Deserialize<JsonElement>(text!) : JsonSerializer.Deserialize<JsonElement>(utf8);
                checksum += element.ValueKind == JsonValueKind.Object ? 1 : 0;
            }

            // Every value is used, so none of the reads can be skipped.
            checksum += (long)tx + position + topic.Length + (text?.Length ?? utf8!.Length) + (source?.Length ?? 0) + (transactionId.HasValue ? 1 : 0) +
                (initializedAt?.Ticks ?? 0) + (occurredAt?.Ticks ?? 0) + (ttl?.Ticks ?? 0);
            count++;
        }

        GC.KeepAlive(checksum);
        return (count, last);
    }

    // Reads until `expected` events have come (then breaks, as a user counting to the end would) or until the
    // subscription goes Live having delivered fewer (a table short of rows), so a wrong count cannot hang.
    private static async Task<(long Count, Guid Last)> SubscriptionAsync(
        NpgsqlDataSource dataSource, EventTable table, IEventSerializer serializer, long expected, int pageSize, string? name = null)
    {
        await using var subscription = new EventSubscription(
            dataSource, table, serializer, new EventSubscriptionOptions { Name = name, From = SubscriptionStart.Beginning, PageSize = pageSize });
        using var caughtUp = new CancellationTokenSource();
        using var watch = subscription.StateChanges.Subscribe(state =>
        {
            if (state == SubscriptionState.Live)
            {
                caughtUp.Cancel();
            }
        });
        long count = 0;
        long checksum = 0;
        var last = Guid.Empty;
        try
        {
            await foreach (var @event in subscription.ReadAsync(caughtUp.Token))
            {
                count++;
                last = @event.Id;
                checksum += @event.Topic.Length + (@event.OccurredAt?.Ticks ?? 0);
                if (count == expected)
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (caughtUp.IsCancellationRequested)
        {
            // Live before the count: the mode reports the shortfall.
        }

        GC.KeepAlive(checksum);
        return (count, last);
    }

    // The payload as its UTF-8 bytes, copied out of the subscription's pooled buffer: no JSON parsing.
    private sealed class BytesSerializer : IEventSerializer
    {
        public ValueTask<byte[]> SerializeAsync(Event @event, CancellationToken cancellationToken) => throw new NotSupportedException();

        public object Deserialize(string topic, ReadOnlySpan<byte> json) => json.ToArray();
    }

    // The payload not read at all: what the subscription costs without its payload step.
    private sealed class NoPayloadSerializer : IEventSerializer
    {
        private static readonly object Payload = new();

        public ValueTask<byte[]> SerializeAsync(Event @event, CancellationToken cancellationToken) => throw new NotSupportedException();

        public object Deserialize(string topic, ReadOnlySpan<byte> json) => Payload;
    }
}
