using Npgsql;
using NpgsqlTypes;

namespace RxEventBus.Postgres.Tests.Support;

/// <summary>
/// Writes events the way the consumer's COPY writer does — binary COPY, payload as UTF-8 JSON in the table's payload
/// type (binary COPY does not check it: jsonb's format written into a bytea column would be stored as it came),
/// UTC times, expires_at = occurred_at + (ttl ?? default ttl) — so the store can be tested without the
/// write pipeline.
/// </summary>
internal static class TestRows
{
    internal static readonly TimeSpan DefaultTtl = TimeSpan.FromMinutes(15);

    internal static async Task<ulong> InsertAsync(
        NpgsqlDataSource dataSource, EventTable table, IEventSerializer serializer, IEnumerable<Event> events, TimeSpan? defaultTtl = null)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var writer = await connection.BeginBinaryImportAsync(
            $"COPY {table.QualifiedName} ({EventTable.Columns}) FROM STDIN (FORMAT BINARY)");
        foreach (var e in events)
        {
            var occurredAt = e.OccurredAt?.ToUniversalTime();
            await writer.StartRowAsync();
            await writer.WriteAsync(e.Id, NpgsqlDbType.Uuid);
            await WriteNullableAsync(writer, e.TransactionId, NpgsqlDbType.Uuid);
            await writer.WriteAsync(e.Topic, NpgsqlDbType.Text);
            await writer.WriteAsync(await serializer.SerializeAsync(e, CancellationToken.None), PayloadDbType(table));
            await WriteNullableAsync(writer, e.InitializedAt?.ToUniversalTime(), NpgsqlDbType.TimestampTz);
            await WriteNullableAsync(writer, occurredAt, NpgsqlDbType.TimestampTz);
            await WriteNullableAsync(writer, e.Source, NpgsqlDbType.Text);
            await WriteNullableAsync(writer, e.Ttl, NpgsqlDbType.Interval);
            await WriteNullableAsync(writer, occurredAt + (e.Ttl ?? defaultTtl ?? DefaultTtl), NpgsqlDbType.TimestampTz);
        }

        return await writer.CompleteAsync();
    }

    internal static NpgsqlDbType PayloadDbType(EventTable table) => table.Design.Payload switch
    {
        PayloadType.Json => NpgsqlDbType.Json,
        PayloadType.Bytea => NpgsqlDbType.Bytea,
        _ => NpgsqlDbType.Jsonb,
    };

    internal static async Task<long> CountAsync(NpgsqlDataSource dataSource, EventTable table)
    {
        await using var command = dataSource.CreateCommand($"SELECT count(*) FROM {table.QualifiedName}");
        return (long)(await command.ExecuteScalarAsync())!;
    }

    internal static async Task<HashSet<Guid>> IdsAsync(NpgsqlDataSource dataSource, EventTable table)
    {
        await using var command = dataSource.CreateCommand($"SELECT id FROM {table.QualifiedName}");
        await using var reader = await command.ExecuteReaderAsync();
        var ids = new HashSet<Guid>();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetGuid(0));
        }

        return ids;
    }

    private static Task WriteNullableAsync<T>(NpgsqlBinaryImporter writer, T? value, NpgsqlDbType type) =>
        value is null ? writer.WriteNullAsync() : writer.WriteAsync(value, type);
}
