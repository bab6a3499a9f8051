namespace RxEventBus.Postgres;

/// <summary>
/// An event the consumer can never write as it is — its payload does not serialize, or the database (or the
/// client, writing its values) refuses the row itself — stored in the dead-letter table beside the events table
/// (see <see cref="PostgresConsumer.DeadLetterStore"/>) instead of blocking its batch. The rest of the batch is
/// written. <see cref="PostgresConsumer.DeadLetters"/> reports each one once it is stored.
/// </summary>
/// <param name="Event">The event.</param>
/// <param name="Reason">Why it cannot be written, in words.</param>
/// <param name="Exception">The error behind the reason, if any.</param>
/// <param name="ErrorType">The SQLSTATE the server refused the row with (or would have: <c>22021</c> for text
/// PostgreSQL cannot hold, <c>22P05</c> for a NUL escape in JSON), or the type of the exception.</param>
public sealed record DeadLetter(Event Event, string Reason, Exception? Exception, string ErrorType);
