using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace RxEventBus.Postgres.Pipeline;

// The stage between the batcher and the writers: keeps the next batch cut while every writer is busy in
// COPY. Without it a writer asks for its next batch only when it is free, so the queue is drained, each
// event mapped and the batch cut while the database idles; with it that work overlaps the COPY.
internal static class Prefetcher
{
    // Pulls `source` on a task of its own into a channel of `count` items and yields from the channel: at
    // most count + 1 items are held beyond what the reader took (the channel, and one waiting for room).
    // Order is kept; a fault of the source comes after the items before it. Leaving early (break, a fault
    // of the reader, cancellation) stops the producer and waits for it, so the source is disposed before
    // this sequence ends.
    internal static async IAsyncEnumerable<T> Prefetch<T>(
        this IAsyncEnumerable<T> source,
        int count,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);

        var channel = Channel.CreateBounded<T>(new BoundedChannelOptions(count) { SingleWriter = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var producer = Task.Run(() => ProduceAsync(source, channel.Writer, stop.Token), CancellationToken.None);
        try
        {
            // WaitToReadAsync rethrows the exception the producer completed the channel with.
            while (await channel.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (channel.Reader.TryRead(out var item))
                {
                    yield return item;
                }
            }
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await producer.ConfigureAwait(false);
        }
    }

    // Never throws: the outcome is the channel's completion.
    private static async Task ProduceAsync<T>(IAsyncEnumerable<T> source, ChannelWriter<T> writer, CancellationToken cancellationToken)
    {
        Exception? fault = null;
        try
        {
            await foreach (var item in source.WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                await writer.WriteAsync(item, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception e)
        {
            fault = e;
        }

        writer.TryComplete(fault);
    }
}
