namespace RxEventBus.Dashboard.Internal;

/// <summary>An event's envelope for a response, with its payload (<see cref="Payloads"/>) when asked.</summary>
internal sealed record EventView(
    Guid Id,
    Guid? TransactionId,
    string Topic,
    string? Source,
    DateTimeOffset? InitializedAt,
    DateTimeOffset? OccurredAt,
    double? TtlSeconds,
    System.Text.Json.JsonElement? Data,
    string? DataBase64,
    string? DataType,
    string? DataError)
{
    public static EventView Of(Event @event, bool withPayload)
    {
        var payload = withPayload ? Payloads.View(@event.Data) : new PayloadView(null, null, null, null);
        return new EventView(@event.Id, @event.TransactionId, @event.Topic, @event.Source,
            DashboardJson.Utc(@event.InitializedAt), DashboardJson.Utc(@event.OccurredAt), DashboardJson.Seconds(@event.Ttl),
            payload.Data, payload.DataBase64, payload.DataType, payload.DataError);
    }
}

/// <summary>An event the bus still tracks: who still owes it an answer, and for how long it has waited.</summary>
internal sealed record PendingView(Guid Id, string Topic, DateTimeOffset? OccurredAt, double? AgeSeconds, IReadOnlyList<string> Subscribers, IReadOnlyList<string> Completers, IReadOnlyList<string> Skippers)
{
    public static PendingView Of(PendingEvent pending, DateTimeOffset now)
    {
        var owing = pending.Subscribers.Except(pending.Completers).Except(pending.Skippers).ToList();
        return new PendingView(pending.Event.Id, pending.Event.Topic, DashboardJson.Utc(pending.Event.OccurredAt),
            Age(pending.Event, now), owing, pending.Completers, pending.Skippers);
    }

    public static double? Age(Event @event, DateTimeOffset now) =>
        (@event.OccurredAt ?? @event.InitializedAt) is { } at ? Math.Max(0, (now - at).TotalSeconds) : null;
}
