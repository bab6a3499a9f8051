using Npgsql;

namespace RxEventBus.Postgres.Pipeline;

// The map stage: each event becomes a row, or a dead letter when it can never be stored. Checks here what
// PostgreSQL would refuse for the whole batch — text columns cannot hold NUL, and jsonb cannot hold the \u0000
// escape (json keeps the escape as text, bytea keeps bytes: only a jsonb table refuses it) — so one bad event
// never fails a batch. A dead letter keeps the payload when it could be made, so that it is stored with it.
// `payload` is the type of the table's data column (its design, which the schema check at start holds it to).
internal sealed class EventMapper(IEventSerializer serializer, TimeSpan defaultTtl, PayloadType payload)
{
    internal async ValueTask<MappedEvent> MapAsync(TrackedEvent delivery, long sequence, CancellationToken cancellationToken)
    {
        var @event = delivery.Event;
        byte[] data;
        try
        {
            data = await serializer.SerializeAsync(@event, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return MappedEvent.Dead(
                delivery, sequence, null, $"its payload ({@event.Data.GetType().FullName}) cannot be serialized: {e.Message}", e.GetType().FullName!, e);
        }

        // The error types are the SQLSTATEs PostgreSQL would refuse the row with, so that the dead-letter
        // table says the same thing however the problem was found.
        if (TextProblem(@event.Source, "source") is { } textProblem)
        {
            return MappedEvent.Dead(delivery, sequence, data, textProblem, PostgresErrorCodes.CharacterNotInRepertoire, null);
        }

        if (payload == PayloadType.Jsonb && JsonbProblem(data) is { } jsonProblem)
        {
            return MappedEvent.Dead(delivery, sequence, data, jsonProblem, PostgresErrorCodes.UntranslatableCharacter, null);
        }

        return MappedEvent.Written(new EventRow(delivery, data, @event.Ttl ?? defaultTtl, sequence));
    }

    private static string? TextProblem(string? text, string field)
    {
        if (text is null)
        {
            return null;
        }

        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '\0')
            {
                return $"its {field} contains a NUL character, which PostgreSQL text cannot hold";
            }

            if (char.IsSurrogate(text[i]))
            {
                if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                {
                    i++;
                    continue;
                }

                return $"its {field} contains an unpaired UTF-16 surrogate at index {i}, which is not valid UTF-8";
            }
        }

        return null;
    }

    // JSON escapes NUL as \u0000, which jsonb refuses ("unsupported Unicode escape sequence"). A match
    // preceded by an odd number of backslashes is a real escape; an even number means the text held a
    // literal backslash followed by "u0000", which jsonb stores fine.
    private static string? JsonbProblem(byte[] json)
    {
        var span = json.AsSpan();
        for (var at = span.IndexOf("\\u0000"u8); at >= 0;)
        {
            var backslashes = 1;
            while (at - backslashes >= 0 && span[at - backslashes] == (byte)'\\')
            {
                backslashes++;
            }

            if (backslashes % 2 == 1)
            {
                return "its payload contains a NUL character (\\u0000), which PostgreSQL jsonb cannot hold";
            }

            var next = span[(at + 1)..].IndexOf("\\u0000"u8);
            at = next < 0 ? -1 : at + 1 + next;
        }

        return null;
    }
}

// The map stage's output: a row to write, or (DeadLetter set) an event to store as a dead letter; its Row
// then holds the payload if it could be made (else no bytes).
internal readonly record struct MappedEvent(EventRow Row, DeadLetter? DeadLetter)
{
    internal TrackedEvent Delivery => Row.Delivery;

    internal static MappedEvent Written(EventRow row) => new(row, null);

    internal static MappedEvent Dead(TrackedEvent delivery, long sequence, byte[]? data, string reason, string errorType, Exception? exception) =>
        new(new EventRow(delivery, data ?? [], TimeSpan.Zero, sequence),
            new DeadLetter(delivery.Event, "Event " + delivery.Event.Id + " cannot be written: " + reason + ".", exception, errorType));
}
