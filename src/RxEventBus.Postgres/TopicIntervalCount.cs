namespace RxEventBus.Postgres;

/// <summary>
/// How many stored events a topic has in one interval of time (one entry of
/// <see cref="EventStore.CountPerTopicOverTimeAsync"/>).
/// </summary>
/// <param name="Start">When the interval starts (UTC, inclusive); it ends one interval's width later (exclusive).</param>
/// <param name="Topic">The topic.</param>
/// <param name="Count">Its events that occurred in the interval.</param>
public sealed record TopicIntervalCount(DateTimeOffset Start, string Topic, long Count);
