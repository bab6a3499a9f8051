using System.Globalization;
using System.Text;
using System.Text.Json;
using RxEventBus.Postgres;

namespace RxEventBus.Cli;

/// <summary>
/// How <c>rxeventbus query</c> and <c>tail</c> print stored events: tab-separated lines for people and <c>cut</c>,
/// or JSON. A payload is printed as its JSON; a payload that is not JSON (a <see cref="BinaryPayload"/> from a bytea
/// table) as <c>base64:&lt;bytes&gt;</c> in lines, and in JSON as a base64 string in <c>data</c> with
/// <c>"data_encoding": "base64"</c> beside it.
/// </summary>
internal static class EventOutput
{
    public static void WriteTopicCounts(TextWriter writer, IReadOnlyList<TopicCount> counts, bool json)
    {
        if (json)
        {
            writer.WriteLine(Json(w =>
            {
                w.WriteStartObject();
                w.WriteStartObject("topics");
                foreach (var count in counts)
                {
                    w.WriteNumber(count.Topic, count.Count);
                }

                w.WriteEndObject();
                w.WriteEndObject();
            }));
            return;
        }

        foreach (var count in counts)
        {
            writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{count.Topic}\t{count.Count}"));
        }
    }

    public static void WriteEvent(TextWriter writer, Event @event, bool json)
    {
        if (json)
        {
            writer.WriteLine(Json(w => Write(w, @event)));
            return;
        }

        var text = new StringBuilder();
        void Row(string name, string? value) => text.Append(name.PadRight(16)).AppendLine(value ?? "");
        Row("id", @event.Id.ToString());
        Row("topic", @event.Topic);
        Row("transaction_id", @event.TransactionId?.ToString());
        Row("initialized_at", Time(@event.InitializedAt));
        Row("occurred_at", Time(@event.OccurredAt));
        Row("source", @event.Source);
        Row("ttl", @event.Ttl is { } ttl ? string.Create(CultureInfo.InvariantCulture, $"{ttl.TotalSeconds} s") : null);
        Row("data", Data(@event));
        writer.Write(text.ToString());
    }

    public static void WriteEvents(TextWriter writer, IReadOnlyList<Event> events, int page, int perPage, bool json)
    {
        if (json)
        {
            writer.WriteLine(Json(w =>
            {
                w.WriteStartObject();
                w.WriteNumber("page", page);
                w.WriteNumber("per_page", perPage);
                w.WriteStartArray("events");
                foreach (var @event in events)
                {
                    Write(w, @event);
                }

                w.WriteEndArray();
                w.WriteEndObject();
            }));
            return;
        }

        foreach (var @event in events)
        {
            writer.WriteLine(string.Join('\t', @event.Id, Time(@event.OccurredAt), @event.Topic, @event.TransactionId, @event.Source, Data(@event)));
        }
    }

    /// <summary>
    /// One event as <c>tail</c> prints it, on one line: <c>position&lt;TAB&gt;id&lt;TAB&gt;occurred_at&lt;TAB&gt;topic&lt;TAB&gt;transaction_id&lt;TAB&gt;source&lt;TAB&gt;data</c>,
    /// or a JSON object whose first member is <c>position</c>.
    /// </summary>
    public static void WriteTailed(TextWriter writer, Event @event, LogPosition? position, bool json)
    {
        var at = position?.ToString();
        if (json)
        {
            writer.WriteLine(Json(w => Write(w, @event, at)));
            return;
        }

        writer.WriteLine(string.Join('\t', at, @event.Id, Time(@event.OccurredAt), @event.Topic, @event.TransactionId, @event.Source, Data(@event)));
    }

    private static void Write(Utf8JsonWriter w, Event @event, string? position = null)
    {
        w.WriteStartObject();
        if (position is not null)
        {
            w.WriteString("position", position);
        }

        w.WriteString("id", @event.Id);
        w.WriteString("topic", @event.Topic);
        if (@event.TransactionId is { } transactionId)
        {
            w.WriteString("transaction_id", transactionId);
        }
        else
        {
            w.WriteNull("transaction_id");
        }

        w.WriteString("initialized_at", Time(@event.InitializedAt));
        w.WriteString("occurred_at", Time(@event.OccurredAt));
        w.WriteString("source", @event.Source);
        if (@event.Ttl is { } ttl)
        {
            w.WriteNumber("ttl_seconds", ttl.TotalSeconds);
        }
        else
        {
            w.WriteNull("ttl_seconds");
        }

        if (@event.Data is BinaryPayload binary)
        {
            w.WriteString("data", binary.ToBase64());
            w.WriteString("data_encoding", "base64");
            w.WriteEndObject();
            return;
        }

        w.WritePropertyName("data");
        if (@event.Data is JsonElement element)
        {
            element.WriteTo(w);
        }
        else
        {
            JsonSerializer.Serialize(w, @event.Data, @event.Data.GetType());
        }

        w.WriteEndObject();
    }

    /// <summary>One JSON value, as <paramref name="write"/> writes it, on one line.</summary>
    internal static string Json(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            write(writer);
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static string? Time(DateTimeOffset? time) => CommandOptions.Format(time);

    private static string Data(Event @event) => @event.Data switch
    {
        JsonElement element => element.GetRawText(),
        BinaryPayload binary => "base64:" + binary.ToBase64(),
        _ => JsonSerializer.Serialize(@event.Data, @event.Data.GetType()),
    };
}
