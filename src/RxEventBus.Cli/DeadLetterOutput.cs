using System.Globalization;
using System.Text.Json;
using RxEventBus.Postgres;

namespace RxEventBus.Cli;

/// <summary>How <c>rxeventbus dead-letters</c> prints: tab-separated lines for people and <c>cut</c>, or JSON.</summary>
internal static class DeadLetterOutput
{
    /// <summary><c>id, last_failed_at, topic, attempts, error_type, reason</c>, one dead letter a line.</summary>
    public static void WriteLines(TextWriter writer, IReadOnlyList<StoredDeadLetter> letters)
    {
        foreach (var letter in letters)
        {
            writer.WriteLine(string.Join(
                '\t',
                letter.Id,
                CommandOptions.Format(letter.LastFailedAt),
                OneField(letter.Topic),
                letter.Attempts.ToString(CultureInfo.InvariantCulture),
                OneField(letter.ErrorType),
                OneField(letter.Reason)));
        }
    }

    /// <summary>What <c>list</c> says on standard error: how many there are, and which page this was.</summary>
    public static string Total(long total, string? topic, int page, int perPage)
    {
        var pages = (total + perPage - 1) / perPage;
        var text = Count(total, "") + (topic is null ? "" : $" of topic {topic}");
        return pages > 1 || page > 1 ? Invariant($"{text} (page {page} of {Math.Max(pages, 1)}, {perPage} a page)") : text;
    }

    /// <summary>"3 dead letters", after <paramref name="prefix"/>.</summary>
    public static string Count(long count, string prefix) =>
        Invariant($"{prefix}{count:N0} dead letter{(count == 1 ? "" : "s")}");

    public static void WriteList(TextWriter writer, long total, int page, int perPage, IReadOnlyList<StoredDeadLetter> letters) =>
        writer.WriteLine(EventOutput.Json(w =>
        {
            w.WriteStartObject();
            w.WriteNumber("count", total);
            w.WriteNumber("page", page);
            w.WriteNumber("per_page", perPage);
            w.WriteStartArray("dead_letters");
            foreach (var letter in letters)
            {
                Write(w, letter);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }));

    /// <summary><c>id, outcome</c>, and the reason when it failed again.</summary>
    public static void WriteReplay(TextWriter writer, DeadLetterReplay replay) =>
        writer.WriteLine(replay.Reason is null
            ? $"{replay.Id}\t{Outcome(replay.Outcome)}"
            : $"{replay.Id}\t{Outcome(replay.Outcome)}\t{OneField(replay.Reason)}");

    /// <summary>What <c>replay</c> says on standard error at the end.</summary>
    public static string ReplayTotals(IReadOnlyList<DeadLetterReplay> results, int asked, EventTable table)
    {
        int Of(DeadLetterReplayOutcome outcome) => results.Count(r => r.Outcome == outcome);
        var text = Invariant(
            $"{Of(DeadLetterReplayOutcome.Replayed):N0} replayed into {table.QualifiedName}, {Of(DeadLetterReplayOutcome.AlreadyStored):N0} already stored, ") +
            Invariant($"{Of(DeadLetterReplayOutcome.FailedAgain):N0} failed again, {Of(DeadLetterReplayOutcome.NotFound):N0} not found");
        return results.Count < asked
            ? Invariant($"{text}; stopped by a signal with {asked - results.Count:N0} of {asked:N0} not tried.")
            : text + ".";
    }

    public static void WriteReplays(TextWriter writer, IReadOnlyList<DeadLetterReplay> results, bool interrupted) =>
        writer.WriteLine(EventOutput.Json(w =>
        {
            w.WriteStartObject();
            foreach (var outcome in Enum.GetValues<DeadLetterReplayOutcome>())
            {
                w.WriteNumber(Outcome(outcome), results.Count(r => r.Outcome == outcome));
            }

            w.WriteBoolean("interrupted", interrupted);
            w.WriteStartArray("results");
            foreach (var result in results)
            {
                w.WriteStartObject();
                w.WriteString("id", result.Id);
                w.WriteString("outcome", Outcome(result.Outcome));
                w.WriteString("reason", result.Reason);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }));

    public static void WritePurge(TextWriter writer, long purged, IReadOnlyList<Guid> notFound) =>
        writer.WriteLine(EventOutput.Json(w =>
        {
            w.WriteStartObject();
            w.WriteNumber("purged", purged);
            w.WriteStartArray("not_found");
            foreach (var id in notFound)
            {
                w.WriteStringValue(id);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }));

    private static void Write(Utf8JsonWriter w, StoredDeadLetter letter)
    {
        w.WriteStartObject();
        w.WriteString("id", letter.Id);
        w.WriteString("topic", letter.Topic);
        w.WriteString("transaction_id", letter.TransactionId?.ToString());   // a null string is written as null
        w.WritePropertyName("data");
        WriteData(w, letter.Data);
        w.WriteString("data_type", letter.DataType);
        w.WriteString("initialized_at", CommandOptions.Format(letter.InitializedAt));
        w.WriteString("occurred_at", CommandOptions.Format(letter.OccurredAt));
        w.WriteString("source", letter.Source);
        if (letter.Ttl is { } ttl)
        {
            w.WriteNumber("ttl_seconds", ttl.TotalSeconds);
        }
        else
        {
            w.WriteNull("ttl_seconds");
        }

        w.WriteString("reason", letter.Reason);
        w.WriteString("error_type", letter.ErrorType);
        w.WriteNumber("attempts", letter.Attempts);
        w.WriteString("first_failed_at", CommandOptions.Format(letter.FirstFailedAt));
        w.WriteString("last_failed_at", CommandOptions.Format(letter.LastFailedAt));
        w.WriteEndObject();
    }

    // The payload is the JSON the serializer made, so it is written as JSON, not as a string holding JSON. The
    // dead-letter table keeps it as bytes precisely because the events table may have refused it, so text that
    // is not JSON at all is not ruled out: that is shown as a string rather than failing the whole listing.
    private static void WriteData(Utf8JsonWriter w, string? data)
    {
        if (data is null)
        {
            w.WriteNullValue();
            return;
        }

        try
        {
            using var document = JsonDocument.Parse(data);
            document.RootElement.WriteTo(w);
        }
        catch (JsonException)
        {
            w.WriteStringValue(data);
        }
    }

    // The spelling of the outcomes in lines and in JSON.
    private static string Outcome(DeadLetterReplayOutcome outcome) => outcome switch
    {
        DeadLetterReplayOutcome.Replayed => "replayed",
        DeadLetterReplayOutcome.AlreadyStored => "already_stored",
        DeadLetterReplayOutcome.NotFound => "not_found",
        _ => "failed_again",
    };

    // A reason may quote PostgreSQL's message, which can hold a tab or a line break: one line per dead letter
    // must stay one line.
    private static string OneField(string text) =>
        text.ReplaceLineEndings(" ").Replace('\t', ' ');

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
