namespace RxEventBus.Postgres;

/// <summary>What an <see cref="EventSubscription"/> is doing; see <see cref="EventSubscription.StateChanges"/>.</summary>
public enum SubscriptionState
{
    /// <summary>Not reading yet: connecting, or not enumerated.</summary>
    Starting,

    /// <summary>Another instance reads this subscription name; this one waits to take over when it stops or
    /// its connection drops, and delivers nothing meanwhile.</summary>
    Standby,

    /// <summary>Reading stored rows in pages, as fast as the subscriber takes them.</summary>
    CatchingUp,

    /// <summary>Caught up: waiting for new rows (woken by the writer's notification, or by polling).</summary>
    Live,

    /// <summary>The connection failed; retrying with backoff, then resuming from the last handled row.</summary>
    Reconnecting,

    /// <summary>Ended by its reader: the enumeration stopped or the subscription was disposed.</summary>
    Stopped,

    /// <summary>Ended by an error that retrying cannot fix; the enumeration threw it.</summary>
    Faulted,
}
