namespace RxEventBus.Postgres;

/// <summary>How many stored events a topic has (one entry of <see cref="EventStore.CountPerTopicAsync"/>).</summary>
/// <param name="Topic">The topic.</param>
/// <param name="Count">Its stored events.</param>
public sealed record TopicCount(string Topic, long Count);
