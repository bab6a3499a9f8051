namespace RxEventBus.Postgres;

/// <summary>What replaying a dead letter did.</summary>
/// <param name="Id">The event's id.</param>
/// <param name="Outcome">What happened.</param>
/// <param name="Reason">Why it failed again, for <see cref="DeadLetterReplayOutcome.FailedAgain"/>; else null.</param>
public sealed record DeadLetterReplay(Guid Id, DeadLetterReplayOutcome Outcome, string? Reason = null);

/// <summary>The outcome of replaying one dead letter.</summary>
public enum DeadLetterReplayOutcome
{
    /// <summary>The event is now in the events table; its dead letter was removed.</summary>
    Replayed,

    /// <summary>The events table already held the event's id (written meanwhile); its dead letter was removed.</summary>
    AlreadyStored,

    /// <summary>No dead letter has this id.</summary>
    NotFound,

    /// <summary>It could not be written again; the dead letter stays, with one more attempt and the new reason.</summary>
    FailedAgain,
}
