using Npgsql;
using NpgsqlTypes;
using RxEventBus.Postgres;

namespace RxEventBus.PipelineBench.Contenders;

// (b) The seed's strategy: what Ecto's insert_all does for a Bucket consumer with max_demand 100 — one
// INSERT … VALUES (…),(…) … ON CONFLICT DO NOTHING of 100 rows, its own transaction, one writer. The
// statement is prepared once and its 900 parameters re-bound for every batch, which is the best Ecto does.
internal sealed class MultiRowInsert(ContenderContext context) : Contender(context)
{
    internal const int BatchSize = 100;
    private static readonly string[] ColumnNames = EventTable.Columns.Split(", ");

    private NpgsqlConnection? _connection;
    private NpgsqlCommand? _full;

    internal override string Key => "b";

    internal override string Description => "INSERT … VALUES ×100 … ON CONFLICT DO NOTHING, prepared, 1 writer (the seed's Ecto insert_all)";

    internal override async Task PrepareAsync()
    {
        _connection = await Context.DataSource.OpenConnectionAsync();
        _full = CreateCommand(BatchSize);
        await _full.PrepareAsync();
    }

    internal override async Task<long> RunAsync()
    {
        var rows = Context.Workload.Rows;
        long written = 0;
        for (var offset = 0; offset < rows.Length; offset += BatchSize)
        {
            var count = Math.Min(BatchSize, rows.Length - offset);
            if (count == BatchSize)
            {
                Bind(_full!, rows, offset, count);
                written += await _full!.ExecuteNonQueryAsync();
            }
            else
            {
                await using var last = CreateCommand(count);
                Bind(last, rows, offset, count);
                written += await last.ExecuteNonQueryAsync();
            }
        }

        return written;
    }

    protected override async ValueTask ReleaseAsync()
    {
        if (_full is not null)
        {
            await _full.DisposeAsync();
        }

        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }
    }

    private NpgsqlCommand CreateCommand(int rows)
    {
        var values = string.Join(",", Enumerable.Range(0, rows).Select(r =>
            "(" + string.Join(",", Enumerable.Range(1, ColumnNames.Length).Select(c => "$" + ((r * ColumnNames.Length) + c))) + ")"));
        var command = new NpgsqlCommand(
            $"INSERT INTO {Context.Table.QualifiedName} ({EventTable.Columns}) VALUES {values} ON CONFLICT DO NOTHING", _connection);
        NpgsqlDbType[] types =
        [
            NpgsqlDbType.Uuid, NpgsqlDbType.Uuid, NpgsqlDbType.Text, Context.DataType, NpgsqlDbType.TimestampTz,
            NpgsqlDbType.TimestampTz, NpgsqlDbType.Text, NpgsqlDbType.Interval, NpgsqlDbType.TimestampTz,
        ];
        for (var r = 0; r < rows; r++)
        {
            foreach (var type in types)
            {
                command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = type, Value = DBNull.Value });
            }
        }

        return command;
    }

    private static void Bind(NpgsqlCommand command, BenchRow[] rows, int offset, int count)
    {
        var p = command.Parameters;
        for (var r = 0; r < count; r++)
        {
            var row = rows[offset + r];
            var e = row.Event;
            var at = r * ColumnNames.Length;
            p[at].Value = e.Id;
            p[at + 1].Value = e.TransactionId is { } tx ? tx : DBNull.Value;
            p[at + 2].Value = e.Topic;
            p[at + 3].Value = row.Data;
            p[at + 4].Value = row.InitializedAt is { } i ? i : DBNull.Value;
            p[at + 5].Value = row.OccurredAt is { } o ? o : DBNull.Value;
            p[at + 6].Value = e.Source is { } s ? s : DBNull.Value;
            p[at + 7].Value = e.Ttl is { } t ? t : DBNull.Value;
            p[at + 8].Value = row.ExpiresAt is { } x ? x : DBNull.Value;
        }
    }
}
