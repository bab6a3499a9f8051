using RxEventBus.Internal;

namespace RxEventBus;

/// <summary>
/// An event delivered to a tracked subscriber, who must answer it with <see cref="MarkCompleted"/> or
/// <see cref="MarkSkipped"/>; until every tracked subscriber of its topic has answered, the bus keeps the
/// event (<see cref="EventBus.FetchEvent"/>, <see cref="EventBus.Pending"/>).
/// </summary>
/// <remarks>A struct: delivering it allocates nothing. It may be kept and answered later, from any thread.</remarks>
public readonly struct TrackedEvent : IEquatable<TrackedEvent>
{
    private readonly PendingEntry? _entry;
    private readonly int _slot;

    internal TrackedEvent(PendingEntry entry, int slot)
    {
        _entry = entry;
        _slot = slot;
    }

    /// <summary>The event.</summary>
    public Event Event => Entry.Event;

    /// <summary>The tracked subscriber this delivery is for.</summary>
    public string Subscriber => Entry.Subscribers[_slot].Name;

    /// <summary>Whether this subscriber has already answered the event.</summary>
    public bool IsAnswered => Entry.StateOf(_slot) != PendingEntry.Waiting;

    /// <summary>Marks the event handled by this subscriber.</summary>
    /// <exception cref="InvalidOperationException">This subscriber already answered the event.</exception>
    public void MarkCompleted() => Entry.Mark(_slot, PendingEntry.Completed);

    /// <summary>Marks the event ignored by this subscriber.</summary>
    /// <exception cref="InvalidOperationException">This subscriber already answered the event.</exception>
    public void MarkSkipped() => Entry.Mark(_slot, PendingEntry.Skipped);

    /// <summary>
    /// Marks the event completed unless this subscriber already answered it (for example, the bus skipped it
    /// for a subscription that was disposed meanwhile).
    /// </summary>
    /// <returns>True if this call answered the event.</returns>
    public bool TryMarkCompleted() => Entry.TryMark(_slot, PendingEntry.Completed);

    /// <summary>Marks the event skipped unless this subscriber already answered it.</summary>
    /// <returns>True if this call answered the event.</returns>
    public bool TryMarkSkipped() => Entry.TryMark(_slot, PendingEntry.Skipped);

    private PendingEntry Entry =>
        _entry ?? throw new InvalidOperationException("This TrackedEvent is a default value; only the bus makes real ones.");

    /// <inheritdoc/>
    public bool Equals(TrackedEvent other) => ReferenceEquals(_entry, other._entry) && _slot == other._slot;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is TrackedEvent other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(_entry, _slot);

    /// <summary>Same event, same subscriber.</summary>
    public static bool operator ==(TrackedEvent left, TrackedEvent right) => left.Equals(right);

    /// <summary>Not the same event and subscriber.</summary>
    public static bool operator !=(TrackedEvent left, TrackedEvent right) => !left.Equals(right);
}
