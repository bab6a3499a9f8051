using System.Text;

namespace RxEventBus.Postgres.Internal;

// Text as PostgreSQL can hold it: a text column refuses NUL, and UTF-8 cannot encode an unpaired UTF-16
// surrogate. Used only where the text must be stored whatever it holds (a dead letter's source and reason);
// each such character becomes U+FFFD, and the dead letter's reason says what was wrong.
internal static class StorableText
{
    internal static string? Of(string? text)
    {
        if (text is null || IsStorable(text))
        {
            return text;
        }

        var builder = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                builder.Append(c).Append(text[++i]);
            }
            else
            {
                builder.Append(c == '\0' || char.IsSurrogate(c) ? '\uFFFD' : c);
            }
        }

        return builder.ToString();
    }

    private static bool IsStorable(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\0')
            {
                return false;
            }

            if (char.IsSurrogate(c))
            {
                if (!char.IsHighSurrogate(c) || i + 1 >= text.Length || !char.IsLowSurrogate(text[i + 1]))
                {
                    return false;
                }

                i++;
            }
        }

        return true;
    }
}
