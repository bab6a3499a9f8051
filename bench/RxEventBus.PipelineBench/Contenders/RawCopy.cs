using RxEventBus.PipelineBench.Infrastructure;

namespace RxEventBus.PipelineBench.Contenders;

// (a) The limit: the rows, already made, straight into binary COPY, 10,000 to a batch and transaction, one
// writer, nothing in between. "a-async" is the same with CopyWriter's per-value WriteAsync calls.
// "a-pk" is (a) into the same table with only its primary key: what the secondary indexes cost (the four of
// issue 5 and, since issue 12, the (tx, position) index; those of the layout, since issue 13).
// Since issue 13 (a), like every contender into our table, writes into the table of --layout.
internal sealed class RawCopy(ContenderContext context, RowWriting writing, bool primaryKeyOnly = false) : Contender(context)
{
    internal const int BatchSize = 10_000;

    internal override string Key => primaryKeyOnly ? "a-pk" : writing == RowWriting.Sync ? "a" : "a-async";

    internal override string Description => primaryKeyOnly
        ? "(a) into the table without its 5 secondary indexes (primary key only): diagnostic"
        : writing == RowWriting.Sync
        ? "raw binary COPY, 10,000-row batches, 1 writer, StartRow/Write"
        : "raw binary COPY, 10,000-row batches, 1 writer, StartRowAsync/WriteAsync per value (CopyWriter's way)";

    internal override async Task PrepareTableAsync()
    {
        if (primaryKeyOnly)
        {
            var t = Context.Table;
            foreach (var column in new[] { "occurred_at", "topic", "transaction_id", "expires_at", "tx_position" })
            {
                await Context.Database.ExecuteAsync($"DROP INDEX IF EXISTS \"{t.Schema}\".\"{t.Table}_{column}_idx\"");
            }
        }
    }

    internal override async Task<long> RunAsync()
    {
        var rows = Context.Workload.Rows;
        ulong written = 0;
        for (var offset = 0; offset < rows.Length; offset += BatchSize)
        {
            var batch = new ArraySegment<BenchRow>(rows, offset, Math.Min(BatchSize, rows.Length - offset));
            written += await CopyRows.CopyBatchAsync(Context.DataSource, Context.CopyCommand, Context.DataType, batch, Values, writing, CancellationToken.None);
        }

        return (long)written;
    }
}
