using System.Text.RegularExpressions;

namespace RxEventBus.Internal;

// The regexes of a pattern or tracked subscription, with event_bus's semantics: it compiles each pattern as
// ^(pattern) (lib/event_bus/utils/regex.ex), so a pattern matches at the start of the topic name: ".*" is
// every topic, "user_" any topic starting with it, "booking_confirmed$" that one topic, and "received" not
// "metrics_received". Each pattern is anchored on its own and as a whole, so "a|b" is ^(?:a|b), never ^a|b.
// Matched when a subscription or a topic is added, never per publish; each match has the bus's timeout, so
// a pattern that backtracks catastrophically fails instead of hanging the bus.
internal sealed class TopicPatterns
{
    private readonly Regex[] _regexes;

    internal TopicPatterns(IReadOnlyList<string> patterns, TimeSpan matchTimeout, string paramName)
    {
        ArgumentNullException.ThrowIfNull(patterns, paramName);
        if (patterns.Count == 0)
        {
            throw new ArgumentException("Give at least one topic pattern (\".*\" matches every topic).", paramName);
        }

        _regexes = new Regex[patterns.Count];
        for (var i = 0; i < patterns.Count; i++)
        {
            var pattern = patterns[i];
            if (string.IsNullOrEmpty(pattern))
            {
                throw new ArgumentException($"Topic pattern #{i} is null or empty; use \".*\" to match every topic.", paramName);
            }

            _regexes[i] = Anchored(pattern, matchTimeout, paramName);
        }

        Patterns = [.. patterns];
    }

    // As written by the user, without the anchor: what SubscriberInfo lists.
    internal IReadOnlyList<string> Patterns { get; }

    // Throws RegexMatchTimeoutException when a pattern exceeds the bus's match timeout.
    internal bool Matches(string topic)
    {
        foreach (var regex in _regexes)
        {
            if (regex.IsMatch(topic))
            {
                return true;
            }
        }

        return false;
    }

    private static Regex Anchored(string pattern, TimeSpan matchTimeout, string paramName)
    {
        try
        {
            // Parsed alone first: a pattern that is invalid on its own (say "a)|(b") must not become valid
            // once wrapped, and the user's error should name the regex the user wrote.
            _ = new Regex(pattern, RegexOptions.CultureInvariant, matchTimeout);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"Topic pattern '{pattern}' is not a valid regular expression: {e.Message}", paramName, e);
        }

        try
        {
            return new Regex("^(?:" + pattern + ")", RegexOptions.CultureInvariant, matchTimeout);
        }
        catch (ArgumentException e)
        {
            // Only a pattern that comments out the closing parenthesis, e.g. "(?x)a#b", gets here.
            throw new ArgumentException(
                $"Topic pattern '{pattern}' cannot be anchored at the start of the topic name as ^(?:{pattern}): {e.Message}", paramName, e);
        }
    }
}
