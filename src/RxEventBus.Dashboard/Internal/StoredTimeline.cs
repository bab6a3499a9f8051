using System.Globalization;
using Microsoft.AspNetCore.Http;
using RxEventBus.Postgres;

namespace RxEventBus.Dashboard.Internal;

/// <summary>
/// <c>api/stored/timeline</c>: the stored counts per topic over time, for the page's chart. The store counts the
/// non-empty intervals (<see cref="EventStore.CountPerTopicOverTimeAsync"/>); this fills in the range, the width and
/// the zeros, so a script or a chart gets one count per topic for every interval.
/// </summary>
internal static class StoredTimeline
{
    /// <summary>How many intervals a chosen width aims at, at most.</summary>
    public const int TargetIntervals = 120;

    /// <summary>How many intervals an answer may have when the caller gives the width.</summary>
    public const int MaxIntervals = 1000;

    private const long MaxWidth = 100L * 365 * 86400;

    // The usual widths, in seconds: the narrowest that covers the range in TargetIntervals is chosen.
    private static readonly long[] Widths =
    [
        1, 2, 5, 10, 15, 30, 60, 2 * 60, 5 * 60, 10 * 60, 15 * 60, 30 * 60, 3600, 2 * 3600, 3 * 3600, 6 * 3600, 12 * 3600,
        86400, 2 * 86400, 7 * 86400, 30 * 86400, 90 * 86400, 365 * 86400,
    ];

    public static async Task<IResult> GetAsync(
        DashboardState state, string? sinceText, string? untilText, string? intervalText, CancellationToken cancellationToken)
    {
        if (state.Sources.Store is not { } store)
        {
            return Problems.NoStore();
        }

        if (!Query.TryTime(sinceText, "since", out var since, out var error) || !Query.TryTime(untilText, "until", out var until, out error))
        {
            return error;
        }

        long? width = null;
        if (!string.IsNullOrWhiteSpace(intervalText))
        {
            if (!long.TryParse(intervalText, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) || seconds < 1 || seconds > MaxWidth)
            {
                return Problems.BadRequest(
                    $"interval must be a whole number of seconds from 1 to {MaxWidth.ToString(CultureInfo.InvariantCulture)} (100 years), but is '{intervalText}'.");
            }

            width = seconds;
        }

        var to = until ?? state.Sources.Bus.Scheduler.Now.ToUniversalTime();
        var from = since ?? await FirstOccurredAtAsync(store, to, cancellationToken).ConfigureAwait(false) ?? to.AddHours(-1);
        if (to < from)
        {
            return Problems.BadRequest($"until ({to:O}) must not be before since ({from:O}).");
        }

        var step = width ?? Choose(to - from);
        if (AlignDown(from, step) is not { } start)
        {
            return Problems.BadRequest($"since ({from:O}) is too early: the start of its interval of {step} s is before 0001-01-01.");
        }

        var intervals = (long)Math.Ceiling((to - start).TotalSeconds / step);
        if (intervals > MaxIntervals)
        {
            return Problems.BadRequest(
                $"From {start:O} to {to:O} in intervals of {step} s makes {intervals} intervals; at most {MaxIntervals.ToString(CultureInfo.InvariantCulture)} are " +
                "answered. Choose a wider interval or a shorter range.");
        }

        var counts = await store.CountPerTopicOverTimeAsync(TimeSpan.FromSeconds(step), start, to, cancellationToken).ConfigureAwait(false);
        var series = new SortedDictionary<string, long[]>(StringComparer.Ordinal);
        foreach (var count in counts)
        {
            if (!series.TryGetValue(count.Topic, out var row))
            {
                series.Add(count.Topic, row = new long[intervals]);
            }

            row[(long)((count.Start - start).TotalSeconds / step)] = count.Count;
        }

        return DashboardJson.Ok(new
        {
            Since = start,
            Until = to,
            IntervalSeconds = step,
            Starts = Enumerable.Range(0, (int)intervals).Select(i => start.AddSeconds(i * step)),
            Topics = series.Select(s => new { Topic = s.Key, Counts = s.Value, Total = s.Value.Sum() }),
        });
    }

    /// <summary>The narrowest usual width that covers <paramref name="span"/> in <see cref="TargetIntervals"/> intervals.</summary>
    public static long Choose(TimeSpan span)
    {
        var needed = (long)Math.Ceiling(span.TotalSeconds / TargetIntervals);
        foreach (var width in Widths)
        {
            if (width >= needed)
            {
                return width;
            }
        }

        return (needed + 86399) / 86400 * 86400;
    }

    /// <summary>
    /// The start of the interval of <paramref name="width"/> seconds (counted from the Unix epoch) that holds
    /// <paramref name="time"/>; null when that start is before <see cref="DateTimeOffset.MinValue"/>.
    /// </summary>
    public static DateTimeOffset? AlignDown(DateTimeOffset time, long width)
    {
        var ticks = time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
        var step = width * TimeSpan.TicksPerSecond;
        var floor = ticks >= 0 ? ticks / step * step : -((-ticks + step - 1) / step * step);
        return floor < DateTimeOffset.MinValue.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks ? null : DateTimeOffset.UnixEpoch.AddTicks(floor);
    }

    // The first stored event's time, when it is not after the range's end: where "all time" starts.
    private static async Task<DateTimeOffset?> FirstOccurredAtAsync(EventStore store, DateTimeOffset until, CancellationToken cancellationToken)
    {
        var first = await store.AllAsync(1, 1, cancellationToken: cancellationToken).ConfigureAwait(false);
        return first is [{ OccurredAt: { } at }] && at <= until ? at.ToUniversalTime() : null;
    }
}
