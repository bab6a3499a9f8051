using System.Text;

namespace RxEventBus.Internal;

// What a topic name may be. Names end up in logs, metrics tags and database text columns, so control
// characters (NUL among them: PostgreSQL text cannot hold it) and broken UTF-16 are refused at the door.
internal static class TopicName
{
    internal const int MaxLength = 255;

    internal static void Validate(string? topic, string paramName)
    {
        ArgumentNullException.ThrowIfNull(topic, paramName);
        if (string.IsNullOrWhiteSpace(topic))
        {
            throw new ArgumentException("A topic name must not be empty or whitespace.", paramName);
        }

        if (topic.Length > MaxLength)
        {
            throw new ArgumentException(
                $"A topic name must be at most {MaxLength} characters; '{topic[..32]}…' has {topic.Length}.", paramName);
        }

        for (var i = 0; i < topic.Length; i++)
        {
            var c = topic[i];
            if (char.IsControl(c))
            {
                throw new ArgumentException(
                    $"Topic name '{Printable(topic)}' contains the control character U+{(int)c:X4} at index {i}; topic names must be printable.",
                    paramName);
            }

            if (char.IsSurrogate(c))
            {
                if (char.IsHighSurrogate(c) && i + 1 < topic.Length && char.IsLowSurrogate(topic[i + 1]))
                {
                    i++;
                    continue;
                }

                throw new ArgumentException(
                    $"Topic name '{Printable(topic)}' contains an unpaired UTF-16 surrogate at index {i}.", paramName);
            }
        }
    }

    // The name with anything unprintable escaped, safe to put in a message.
    internal static string Printable(string topic)
    {
        var builder = new StringBuilder(topic.Length);
        foreach (var c in topic)
        {
            if (char.IsControl(c) || char.IsSurrogate(c))
            {
                builder.Append(@"\u").Append(((int)c).ToString("X4", System.Globalization.CultureInfo.InvariantCulture));
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }
}
