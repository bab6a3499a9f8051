using RxEventBus.PipelineBench.Infrastructure;

namespace RxEventBus.PipelineBench.Contenders;

// (a) The limit: the rows, already made, straight into binary COPY, 10,000 to a batch and transaction, one
// writer, nothing in between. "a-async" is the same with CopyWriter's per-value WriteAsync calls.
internal sealed class RawCopy(ContenderContext context, RowWriting writing) : Contender(context)
{
    internal const int BatchSize = 10_000;

    internal override string Key => writing == RowWriting.Sync ? "a" : "a-async";

    internal override string Description => writing == RowWriting.Sync
        ? "raw binary COPY, 10,000-row batches, 1 writer, StartRow/Write"
        : "raw binary COPY, 10,000-row batches, 1 writer, StartRowAsync/WriteAsync per value (CopyWriter's way)";

    internal override async Task<long> RunAsync()
    {
        var rows = Context.Workload.Rows;
        ulong written = 0;
        for (var offset = 0; offset < rows.Length; offset += BatchSize)
        {
            var batch = new ArraySegment<BenchRow>(rows, offset, Math.Min(BatchSize, rows.Length - offset));
            written += await CopyRows.CopyBatchAsync(Context.DataSource, Context.CopyCommand, batch, Values, writing, CancellationToken.None);
        }

        return (long)written;
    }
}
