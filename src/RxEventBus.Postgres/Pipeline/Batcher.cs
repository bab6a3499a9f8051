using System.Reactive.Concurrency;
using System.Runtime.CompilerServices;
using RxEventBus.Postgres.Internal;

namespace RxEventBus.Postgres.Pipeline;

// The batch stage: cuts the mapped stream into batches by count or by age, whichever comes first.
internal static class Batcher
{
    // A batch is emitted when it holds maxSize items, or when its FIRST item is maxDelay old (a maximum age,
    // not a debounce: later items do not push the deadline back), or when the source ends. The timer is
    // armed by a batch's first item, so an idle source produces no empty batches. Time is the scheduler's.
    //
    // The source's MoveNextAsync cannot be cancelled without breaking the enumerator, so when the timer wins
    // the race, the pending MoveNextAsync is kept and awaited first on the next round: at most one is ever
    // outstanding, and no item is lost or reordered.
    //
    // Each batch is a new list that the reader owns: the consumer clears it once written (see
    // PostgresConsumer.WriteBatchAsync).
    internal static async IAsyncEnumerable<List<T>> Batch<T>(
        this IAsyncEnumerable<T> source,
        int maxSize,
        TimeSpan maxDelay,
        IScheduler scheduler,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxSize);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(maxDelay, TimeSpan.Zero);
        ArgumentNullException.ThrowIfNull(scheduler);

        // The source gets a token of the batcher's own, so that when the batcher is abandoned with a
        // MoveNextAsync still pending, it can cancel that step and let it finish before disposing the source
        // (disposing an async iterator mid-step is not allowed).
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var enumerator = source.GetAsyncEnumerator(stop.Token);
        Task<bool>? pending = null;
        List<T>? batch = null;
        Task? deadline = null;
        CancellationTokenSource? timer = null;
        try
        {
            while (true)
            {
                bool hasNext;
                if (pending is not null)
                {
                    if (batch is not null && !pending.IsCompleted &&
                        await Task.WhenAny(pending, deadline!).ConfigureAwait(false) != pending)
                    {
                        yield return Cut(ref batch, ref timer);
                        continue;
                    }

                    hasNext = await pending.ConfigureAwait(false);
                    pending = null;
                }
                else
                {
                    var move = enumerator.MoveNextAsync();
                    if (move.IsCompletedSuccessfully)
                    {
                        hasNext = move.Result;
                    }
                    else if (batch is null)
                    {
                        hasNext = await move.ConfigureAwait(false);
                    }
                    else
                    {
                        pending = move.AsTask();
                        continue;
                    }
                }

                if (!hasNext)
                {
                    break;
                }

                if (batch is null)
                {
                    // Sized once for batches of usual sizes: doubling from a small list copied a 10,000-event
                    // batch several times, onto the large-object heap. Capped, so a huge MaxBatchSize does not
                    // allocate megabytes for each one-event batch of a quiet stream.
                    batch = new List<T>(Math.Min(maxSize, 65_536));
                    timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                    deadline = SchedulerTime.Delay(scheduler, maxDelay, timer.Token);
                }

                batch.Add(enumerator.Current);
                if (batch.Count >= maxSize)
                {
                    yield return Cut(ref batch, ref timer);
                }
            }

            if (batch is not null)
            {
                yield return Cut(ref batch, ref timer);
            }
        }
        finally
        {
            timer?.Cancel();
            timer?.Dispose();
            if (pending is not null)
            {
                await stop.CancelAsync().ConfigureAwait(false);
                await ((Task)pending).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }

            await enumerator.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static List<T> Cut<T>(ref List<T>? batch, ref CancellationTokenSource? timer)
    {
        var full = batch!;
        batch = null;
        timer!.Cancel();
        timer.Dispose();
        timer = null;
        return full;
    }
}
