using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using RxEventBus.Postgres;

namespace RxEventBus.Dashboard.Internal;

/// <summary>
/// This process's bus, as event_bus_metrics showed it: the overview, topics, their pending (unprocessed) events,
/// subscribers. Ages are measured on the bus's scheduler.
/// </summary>
internal static class BusEndpoints
{
    public static void Map(IEndpointRouteBuilder api, DashboardState state)
    {
        api.MapGet("/overview", () => Overview(state));
        api.MapGet("/topics", () => DashboardJson.Ok(state.Sources.Bus.Topics.Select(t => TopicRow(state.Sources.Bus, t))));
        api.MapGet("/topics/{topic}", (string topic) => Topic(state.Sources.Bus, topic, detail: true));
        api.MapGet("/topics/{topic}/events", (string topic) => Topic(state.Sources.Bus, topic, detail: false));
        api.MapGet("/topics/{topic}/events/{id}", (string topic, string id) => PendingEvent(state.Sources.Bus, topic, id));
        api.MapGet("/subscribers", () => Subscribers(state.Sources.Bus));
    }

    private static IResult Overview(DashboardState state)
    {
        var sources = state.Sources;
        var bus = sources.Bus;
        return DashboardJson.Ok(new
        {
            Bus = new { Topics = bus.Topics.Count, bus.Diagnostics.LiveSubscriptions, bus.Diagnostics.PendingEvents },
            Consumer = sources.Consumer is { } consumer ? Consumer(consumer) : null,
            Store = sources.Store is not null,
            DeadLetters = sources.DeadLetters is not null,
            Table = sources.Table is { } table ? $"{table.Schema}.{table.Table}" : null,
            ActionsEnabled = state.Options.EnableActions,
            At = DashboardJson.Utc(bus.Scheduler.Now),
        });
    }

    internal static object Consumer(PostgresConsumer consumer)
    {
        var status = consumer.Status;
        return new
        {
            status.State,
            status.Reason,
            Since = DashboardJson.Utc(status.Since),
            LastCommitAt = DashboardJson.Utc(status.LastCommitAt),
            consumer.Options.BufferSize,
            consumer.Options.MaxBatchSize,
            Statistics = consumer.Statistics,
        };
    }

    private static object TopicRow(EventBus bus, string topic) => new
    {
        Topic = topic,
        Subscribers = bus.Diagnostics.SubscriptionCount(topic),
        Pending = bus.Pending(topic).Count,
    };

    private static IResult Topic(EventBus bus, string topic, bool detail)
    {
        if (!bus.TopicExists(topic))
        {
            return UnknownTopic(topic);
        }

        var now = bus.Scheduler.Now;
        var pending = bus.Pending(topic).Select(p => PendingView.Of(p, now)).ToList();
        if (!detail)
        {
            return DashboardJson.Ok(pending);
        }

        return DashboardJson.Ok(new
        {
            Topic = topic,
            Subscribers = bus.Diagnostics.SubscriptionCount(topic),
            Subscriptions = bus.Subscribers(topic).Select(SubscriberRow),
            Pending = pending.Count,
            PendingEvents = pending,
        });
    }

    private static IResult PendingEvent(EventBus bus, string topic, string id)
    {
        if (!bus.TopicExists(topic))
        {
            return UnknownTopic(topic);
        }

        if (!Guid.TryParse(id, out var guid))
        {
            return Problems.BadRequest($"'{id}' is not an event id (a GUID).");
        }

        var pending = bus.Pending(topic).FirstOrDefault(p => p.Event.Id == guid);
        if (pending is null || bus.FetchEvent(topic, guid) is not { } @event)
        {
            return Problems.NotFound("No such pending event",
                $"Event {guid} is not pending on topic '{topic}': every subscriber answered it, or it never was published here.");
        }

        return DashboardJson.Ok(new { Event = EventView.Of(@event, withPayload: true), Pending = PendingView.Of(pending, bus.Scheduler.Now) });
    }

    private static IResult Subscribers(EventBus bus)
    {
        var now = bus.Scheduler.Now;
        return DashboardJson.Ok(bus.Subscribers().Select(s =>
        {
            IReadOnlyList<Event>? owed = s is { Kind: SubscriptionKind.Tracked, Name: { } name } ? bus.Owed(name) : null;
            var oldest = owed?.Select(e => PendingView.Age(e, now)).Max();
            return new
            {
                s.Id,
                s.Kind,
                s.Name,
                s.Patterns,
                s.Topics,
                Owed = owed?.Count,
                OldestOwedAgeSeconds = oldest,
            };
        }));
    }

    private static object SubscriberRow(SubscriberInfo s) => new { s.Id, s.Kind, s.Name, s.Patterns };

    private static IResult UnknownTopic(string topic) =>
        Problems.NotFound("No such topic", $"Topic '{topic}' is not registered on this bus.");
}
