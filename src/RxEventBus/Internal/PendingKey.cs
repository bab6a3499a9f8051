namespace RxEventBus.Internal;

// The key of the bus's table of pending events. An id is unique per topic, not per bus (the same id may be
// pending on two topics), so the key is both; but it hashes on the id alone, which is as cheap to hash as
// to compare and already spreads keys well, and compares the id first. The topic is compared by reference
// before by value: an entry is added and removed with its event's own Topic string, so the hot path's
// lookups find the same instance.
internal readonly struct PendingKey(string topic, Guid id) : IEquatable<PendingKey>
{
    internal string Topic { get; } = topic;

    internal Guid Id { get; } = id;

    public bool Equals(PendingKey other) =>
        Id == other.Id && (ReferenceEquals(Topic, other.Topic) || string.Equals(Topic, other.Topic, StringComparison.Ordinal));

    public override bool Equals(object? obj) => obj is PendingKey other && Equals(other);

    public override int GetHashCode() => Id.GetHashCode();
}
