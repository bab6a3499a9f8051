namespace RxEventBus;

/// <summary>
/// Thrown by a subscriber from <c>OnNext</c> to refuse an event (for example a bounded buffer that is full
/// under a <c>Fail</c> overflow policy). Unlike any other exception a subscriber throws, this one is
/// rethrown to the publisher once the event was offered to every subscriber, so the publisher learns that
/// the event was not accepted.
/// </summary>
public sealed class EventRejectedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public EventRejectedException()
        : base("A subscriber refused the event.")
    {
    }

    /// <summary>Creates the exception with a message saying who refused and why.</summary>
    public EventRejectedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public EventRejectedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
