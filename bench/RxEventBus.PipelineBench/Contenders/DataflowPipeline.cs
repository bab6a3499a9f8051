using System.Threading.Tasks.Dataflow;
using RxEventBus.PipelineBench.Infrastructure;

namespace RxEventBus.PipelineBench.Contenders;

// (c) What a .NET user would build instead of RxEventBus: TPL Dataflow, bounded blocks all the way, a
// BatchBlock cut by count and by a timer calling TriggerBatch, and an ActionBlock doing (a)'s COPY. It
// acknowledges nothing and keeps no pending set: it does less than (d) by design. Same batch size, buffer,
// batch delay and number of writers as (d).
internal sealed class DataflowPipeline(ContenderContext context) : Contender(context)
{
    internal override string Key => "c";

    internal override string Description =>
        $"TPL Dataflow BufferBlock → TransformBlock(serialize) → BatchBlock({Context.Settings.BatchSize}) + {Context.Settings.BatchDelayMs} ms " +
        $"TriggerBatch timer → ActionBlock(COPY, {Context.Settings.PoolSize} writer(s)), bounded at {Context.Settings.BufferSize}";

    internal override async Task<long> RunAsync()
    {
        var settings = Context.Settings;
        long written = 0;
        var buffer = new BufferBlock<Event>(new DataflowBlockOptions { BoundedCapacity = settings.BufferSize });
        var map = new TransformBlock<Event, BenchRow>(
            Workload.Map,
            new ExecutionDataflowBlockOptions { BoundedCapacity = settings.BufferSize, SingleProducerConstrained = true });
        var batch = new BatchBlock<BenchRow>(settings.BatchSize, new GroupingDataflowBlockOptions { BoundedCapacity = settings.BatchSize });
        var write = new ActionBlock<BenchRow[]>(
            async rows => Interlocked.Add(ref written, (long)await CopyRows.CopyBatchAsync(
                Context.DataSource, Context.CopyCommand, Context.DataType, rows, Values, RowWriting.Sync, CancellationToken.None)),
            new ExecutionDataflowBlockOptions { BoundedCapacity = settings.PoolSize, MaxDegreeOfParallelism = settings.PoolSize });
        var link = new DataflowLinkOptions { PropagateCompletion = true };
        using var _ = buffer.LinkTo(map, link);
        using var __ = map.LinkTo(batch, link);
        using var ___ = batch.LinkTo(write, link);
        var delay = TimeSpan.FromMilliseconds(settings.BatchDelayMs);
        await using (new Timer(static b => ((BatchBlock<BenchRow>)b!).TriggerBatch(), batch, delay, delay))
        {
            foreach (var @event in Context.Workload.Events)
            {
                if (!await buffer.SendAsync(@event))
                {
                    throw new InvalidOperationException("The BufferBlock declined an event.");
                }
            }

            buffer.Complete();
            await write.Completion;
        }

        return Interlocked.Read(ref written);
    }
}
