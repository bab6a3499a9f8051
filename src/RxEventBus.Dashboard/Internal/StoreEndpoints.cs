using Microsoft.AspNetCore.Builder;
using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using RxEventBus.Postgres;

namespace RxEventBus.Dashboard.Internal;

/// <summary>The stored events: counts per topic (in all, and over time: <see cref="StoredTimeline"/>), search, one event with its payload.</summary>
internal static class StoreEndpoints
{
    public static void Map(IEndpointRouteBuilder api, DashboardState state)
    {
        api.MapGet("/stored/counts", (string? since, CancellationToken cancellationToken) => CountsAsync(state, since, cancellationToken));
        api.MapGet("/stored/timeline", (string? since, string? until, string? interval, CancellationToken cancellationToken) =>
            StoredTimeline.GetAsync(state, since, until, interval, cancellationToken));
        api.MapGet("/stored/events", (string? id, string? transactionId, string? topic, string? since, string? until, string? limit,
            CancellationToken cancellationToken) => SearchAsync(state, new(id, transactionId, topic, since, until, limit), cancellationToken));
        api.MapGet("/stored/events/{id}", (string id, CancellationToken cancellationToken) => FindAsync(state, id, cancellationToken));
    }

    private static async Task<IResult> CountsAsync(DashboardState state, string? since, CancellationToken cancellationToken)
    {
        if (state.Sources.Store is not { } store)
        {
            return Problems.NoStore();
        }

        if (!Query.TryTime(since, "since", out var from, out var error))
        {
            return error;
        }

        var counts = await store.CountPerTopicAsync(from, cancellationToken).ConfigureAwait(false);
        return DashboardJson.Ok(counts.Select(c => new { c.Topic, c.Count }));
    }

    private sealed record Search(string? Id, string? TransactionId, string? Topic, string? Since, string? Until, string? Limit);

    private static async Task<IResult> SearchAsync(DashboardState state, Search search, CancellationToken cancellationToken)
    {
        if (state.Sources.Store is not { } store)
        {
            return Problems.NoStore();
        }

        if (!Query.TryGuid(search.Id, "id", out var id, out var error)
            || !Query.TryGuid(search.TransactionId, "transactionId", out var transactionId, out error)
            || !Query.TryTime(search.Since, "since", out var since, out error)
            || !Query.TryTime(search.Until, "until", out var until, out error))
        {
            return error;
        }

        var max = state.Options.StoredEventsLimit;
        var limit = 100;
        if (search.Limit is { Length: > 0 } text
            && (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 1))
        {
            return Problems.BadRequest($"limit must be a whole number from 1 (it is at most {max}), but is '{text}'.");
        }

        limit = Math.Min(limit, max);
        if (since is { } s && until is { } u && u < s)
        {
            return Problems.BadRequest("until must not be before since.");
        }

        var found = new List<EventView>();
        if (id is { } one)
        {
            // An id names one event; the other filters still apply, so a search never shows what it excludes.
            if (await store.FindAsync(one, cancellationToken).ConfigureAwait(false) is { } @event
                && (search.Topic is not { Length: > 0 } || @event.Topic == search.Topic)
                && (transactionId is null || @event.TransactionId == transactionId)
                && (since is null || @event.OccurredAt >= since)
                && (until is null || @event.OccurredAt < until))
            {
                found.Add(EventView.Of(@event, withPayload: false));
            }
        }
        else
        {
            var filter = new EventFilter
            {
                TransactionId = transactionId,
                Topics = search.Topic is { Length: > 0 } topic ? [topic] : null,
                Since = since,
                Until = until,
                Limit = limit, // in SQL: without it, a topic (not indexed by default) is scanned and sorted whole first
            };
            await foreach (var @event in store.ReadAsync(filter, cancellationToken).ConfigureAwait(false))
            {
                found.Add(EventView.Of(@event, withPayload: false));
            }
        }

        return DashboardJson.Ok(new { Limit = limit, Count = found.Count, Events = found });
    }

    private static async Task<IResult> FindAsync(DashboardState state, string id, CancellationToken cancellationToken)
    {
        if (state.Sources.Store is not { } store)
        {
            return Problems.NoStore();
        }

        if (!Guid.TryParse(id, out var guid))
        {
            return Problems.BadRequest($"'{id}' is not an event id (a GUID).");
        }

        return await store.FindAsync(guid, cancellationToken).ConfigureAwait(false) is { } @event
            ? DashboardJson.Ok(EventView.Of(@event, withPayload: true))
            : Problems.NotFound("No such stored event", $"No event {guid} is stored in {store.Table.QualifiedName}.");
    }
}

/// <summary>Query-string values, each refused with a 400 problem that names the parameter and what it should be.</summary>
internal static class Query
{
    public static bool TryGuid(string? text, string name, out Guid? value, out IResult error)
    {
        value = null;
        error = Results.Empty;
        if (string.IsNullOrWhiteSpace(text))
        {
            return true;
        }

        if (Guid.TryParse(text, out var guid))
        {
            value = guid;
            return true;
        }

        error = Problems.BadRequest($"{name} must be a GUID, but is '{text}'.");
        return false;
    }

    public static bool TryTime(string? text, string name, out DateTimeOffset? value, out IResult error)
    {
        value = null;
        error = Results.Empty;
        if (string.IsNullOrWhiteSpace(text))
        {
            return true;
        }

        // ISO-8601; a time without an offset is UTC, as every time the dashboard writes is.
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time))
        {
            value = time;
            return true;
        }

        error = Problems.BadRequest($"{name} must be an ISO-8601 time such as 2026-01-31T12:00:00Z, but is '{text}'.");
        return false;
    }

    public static bool TryPositive(string? text, string name, int fallback, int max, out int value, out IResult error)
    {
        value = fallback;
        error = Results.Empty;
        if (string.IsNullOrWhiteSpace(text))
        {
            return true;
        }

        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value >= 1 && value <= max)
        {
            return true;
        }

        error = Problems.BadRequest($"{name} must be a whole number from 1 to {max}, but is '{text}'.");
        return false;
    }
}
