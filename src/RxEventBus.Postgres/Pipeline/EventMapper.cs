namespace RxEventBus.Postgres.Pipeline;

// The map stage (the seed's EventMapper): each event becomes a row, or a dead letter when it can never be
// stored. Checks here what PostgreSQL would refuse for the whole batch — text columns cannot hold NUL, and
// jsonb cannot hold the \u0000 escape — so one bad event never fails a batch.
internal sealed class EventMapper(IEventSerializer serializer, TimeSpan defaultTtl)
{
    internal async ValueTask<MappedEvent> MapAsync(TrackedEvent delivery, CancellationToken cancellationToken)
    {
        var @event = delivery.Event;
        byte[] data;
        try
        {
            data = await serializer.SerializeAsync(@event, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return MappedEvent.Dead(delivery, $"its payload ({@event.Data.GetType().FullName}) cannot be serialized: {e.Message}", e);
        }

        var problem = TextProblem(@event.Source, "source") ?? JsonProblem(data);
        if (problem is not null)
        {
            return MappedEvent.Dead(delivery, problem, null);
        }

        return MappedEvent.Written(new EventRow(delivery, data, @event.Ttl ?? defaultTtl));
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
    private static string? JsonProblem(byte[] json)
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

// The map stage's output: a row to write, or (DeadLetter set) an event to report and skip on the bus.
internal readonly record struct MappedEvent(EventRow Row, DeadLetter? DeadLetter)
{
    internal TrackedEvent Delivery => Row.Delivery;

    internal static MappedEvent Written(EventRow row) => new(row, null);

    internal static MappedEvent Dead(TrackedEvent delivery, string reason, Exception? exception) =>
        new(new EventRow(delivery, [], TimeSpan.Zero),
            new DeadLetter(delivery.Event, "Event " + delivery.Event.Id + " cannot be written: " + reason + ".", exception));
}
