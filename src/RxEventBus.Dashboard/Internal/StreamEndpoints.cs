using Microsoft.AspNetCore.Builder;
using System.Reactive.Linq;
using System.Threading.Channels;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using RxEventBus.Postgres;

namespace RxEventBus.Dashboard.Internal;

/// <summary>
/// The two Server-Sent-Events streams: <c>live</c>, this process's metrics every LiveInterval, and <c>tail</c>,
/// the events committed to the table by any instance, as they commit. Both end when the client goes away.
/// </summary>
internal static class StreamEndpoints
{
    public static void Map(IEndpointRouteBuilder api, DashboardState state)
    {
        api.MapGet("/live", (HttpContext context) => LiveAsync(context, state));
        api.MapGet("/tail", (HttpContext context) => TailAsync(context, state));
    }

    // A stream ends when its client goes away or when the app stops: an open page must not hold the host's shutdown
    // for its whole ShutdownTimeout (a browser keeps an EventSource open, and reconnects, for as long as it shows the page).
    private static CancellationTokenSource StreamEnd(HttpContext context) =>
        context.RequestServices.GetService<IHostApplicationLifetime>() is { } lifetime
            ? CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping)
            : CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);

    private static async Task LiveAsync(HttpContext context, DashboardState state)
    {
        var sources = state.Sources;
        var bus = sources.Bus;
        using var end = StreamEnd(context);
        var stop = end.Token;
        using var meters = new LiveMeters(sources.Table is { } table ? $"{table.Schema}.{table.Table}" : null);

        // Ticks come from the bus's scheduler (library code reads no clock); a slow client skips ticks rather than
        // queueing them.
        var ticks = Channel.CreateBounded<DateTimeOffset>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropOldest });
        using var timer = Observable.Interval(state.Options.LiveInterval, bus.Scheduler).Subscribe(_ => ticks.Writer.TryWrite(bus.Scheduler.Now));

        try
        {
            await ServerSentEvents.StartAsync(context, state.Options.ReconnectDelay, stop).ConfigureAwait(false);
            var previousAt = bus.Scheduler.Now;
            var previous = bus.Topics.ToDictionary(t => t, meters.PublishedOn, StringComparer.Ordinal);
            await ServerSentEvents.WriteAsync(context.Response, ServerSentEvents.Frame("metrics", Sample(sources, meters, previousAt, previous, TimeSpan.Zero)), stop).ConfigureAwait(false);
            while (await ticks.Reader.WaitToReadAsync(stop).ConfigureAwait(false))
            {
                var at = ticks.Reader.TryRead(out var now) ? now : bus.Scheduler.Now;
                var sample = Sample(sources, meters, at, previous, at - previousAt);
                previous = bus.Topics.ToDictionary(t => t, meters.PublishedOn, StringComparer.Ordinal);
                previousAt = at;
                await ServerSentEvents.WriteAsync(context.Response, ServerSentEvents.Frame("metrics", sample), stop).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // The client went away: the end of a stream, not an error.
        }
    }

    private static object Sample(DashboardSources sources, LiveMeters meters, DateTimeOffset at, Dictionary<string, long> previous, TimeSpan elapsed)
    {
        var bus = sources.Bus;
        return new
        {
            At = DashboardJson.Utc(at),
            bus.Diagnostics.PendingEvents,
            Topics = bus.Topics.Select(topic =>
            {
                var published = meters.PublishedOn(topic);
                var before = previous.GetValueOrDefault(topic);
                return new
                {
                    Topic = topic,
                    Published = published,
                    PerSecond = elapsed > TimeSpan.Zero ? (published - before) / elapsed.TotalSeconds : 0,
                };
            }),
            Consumer = sources.Consumer is { } consumer ? ConsumerSample(consumer, meters) : null,
        };
    }

    private static object ConsumerSample(PostgresConsumer consumer, LiveMeters meters)
    {
        var status = consumer.Status;
        var statistics = consumer.Statistics;
        return new
        {
            status.State,
            status.Reason,
            Queued = statistics.Buffered,
            consumer.Options.BufferSize,
            statistics.Batches,
            RowsWritten = statistics.Persisted,
            LastBatchSize = meters.LastBatchSize,
            LastCopyMs = meters.LastCopyMilliseconds,
            statistics.Retries,
            statistics.Dropped,
            statistics.DeadLettered,
            statistics.Refused,
            LastCommitAt = DashboardJson.Utc(status.LastCommitAt),
        };
    }

    private static async Task TailAsync(HttpContext context, DashboardState state)
    {
        var sources = state.Sources;
        if (sources.Store is null)
        {
            await Problems.NoStore().ExecuteAsync(context).ConfigureAwait(false);
            return;
        }

        if (sources.DataSource is not { } dataSource || sources.Table is not { } table)
        {
            await Problems.NotFound("No database to follow",
                "The tail follows the events table through an NpgsqlDataSource: register one in the app's services, or use " +
                "AddPostgresPersistence with a connection string.").ExecuteAsync(context).ConfigureAwait(false);
            return;
        }

        using var end = StreamEnd(context);
        var stop = end.Token;
        // Anonymous, from the end: it shows what commits from now on, by any instance, and stores no checkpoint.
        var subscription = new EventSubscription(dataSource, table, new PrintablePayloadSerializer(sources.Serializer),
            new EventSubscriptionOptions { From = SubscriptionStart.End }, sources.Bus.Scheduler);
        await using var _ = subscription.ConfigureAwait(false);

        // One writer to the response: the reader and the state changes both hand it frames. Bounded, so a slow client
        // holds the reader back instead of growing memory.
        var frames = Channel.CreateBounded<string>(new BoundedChannelOptions(64) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        using var states = subscription.StateChanges.Subscribe(s => frames.Writer.TryWrite(ServerSentEvents.Frame("state", new { State = s })));
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(stop);
        var reader = ReadAsync(subscription, frames.Writer, cancel.Token);
        try
        {
            await ServerSentEvents.StartAsync(context, state.Options.ReconnectDelay, stop).ConfigureAwait(false);
            await foreach (var frame in frames.Reader.ReadAllAsync(stop).ConfigureAwait(false))
            {
                await ServerSentEvents.WriteAsync(context.Response, frame, stop).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // The client went away.
        }
        finally
        {
            await cancel.CancelAsync().ConfigureAwait(false);
            await reader.ConfigureAwait(false);
        }
    }

    private static async Task ReadAsync(EventSubscription subscription, ChannelWriter<string> frames, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var @event in subscription.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var view = EventView.Of(@event, withPayload: true);
                await frames.WriteAsync(ServerSentEvents.Frame("stored", new
                {
                    view.Id,
                    view.Topic,
                    view.TransactionId,
                    view.Source,
                    view.InitializedAt,
                    view.OccurredAt,
                    view.TtlSeconds,
                    Position = subscription.Position?.ToString(),
                    view.Data,
                    view.DataBase64,
                    view.DataType,
                    view.DataError,
                }), cancellationToken).ConfigureAwait(false);
            }

            frames.TryComplete();
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            frames.TryComplete();
        }
#pragma warning disable CA1031 // Any failure of the subscription ends the stream with a message the page can show.
        catch (Exception e)
#pragma warning restore CA1031
        {
            frames.TryWrite(ServerSentEvents.Frame("error", new { Error = e.GetType().Name, e.Message }));
            frames.TryComplete();
        }
    }
}
