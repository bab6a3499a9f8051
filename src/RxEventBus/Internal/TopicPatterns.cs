using System.Text.RegularExpressions;

namespace RxEventBus.Internal;

// The regexes of a pattern or tracked subscription, with the seed's semantics: a topic matches when any
// pattern is found anywhere in its name (Regex.match?/2), so ".*" is every topic, "purchase_" any topic
// containing it and "booking_confirmed$" any topic ending with it. Matched when a subscription or a topic
// is added, never per publish; each match has the bus's timeout, so a pattern that backtracks
// catastrophically fails instead of hanging the bus.
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

            try
            {
                _regexes[i] = new Regex(pattern, RegexOptions.CultureInvariant, matchTimeout);
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException($"Topic pattern '{pattern}' is not a valid regular expression: {e.Message}", paramName, e);
            }
        }

        Patterns = [.. patterns];
    }

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
}
