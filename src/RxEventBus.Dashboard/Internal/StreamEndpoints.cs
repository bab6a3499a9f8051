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
        // One subscription for every open page (TailHub): this stream is one client of it, with its own bounded queue.
        using var client = state.Tail.Join();
        try
        {
            await ServerSentEvents.StartAsync(context, state.Options.ReconnectDelay, stop).ConfigureAwait(false);
            await foreach (var frame in client.Frames.ReadAllAsync(stop).ConfigureAwait(false))
            {
                await ServerSentEvents.WriteAsync(context.Response, frame, stop).ConfigureAwait(false);
            }

            // Why the hub ended this stream (the subscription failed, or this client fell behind): written after the
            // queue, never dropped for a full one.
            if (client.Final is { } final)
            {
                await ServerSentEvents.WriteAsync(context.Response, final, stop).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // The client went away, or the app stops.
        }
    }
}
