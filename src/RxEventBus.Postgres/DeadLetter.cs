namespace RxEventBus.Postgres;

/// <summary>
/// An event the consumer can never write — its payload does not serialize, or the database refuses the row
/// itself — reported instead of blocking its batch forever. The rest of the batch is written.
/// </summary>
/// <param name="Event">The event.</param>
/// <param name="Reason">Why it cannot be written, in words.</param>
/// <param name="Exception">The error behind the reason, if any.</param>
public sealed record DeadLetter(Event Event, string Reason, Exception? Exception);
