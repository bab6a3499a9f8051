using RxEventBus.Internal;

namespace RxEventBus;

/// <summary>
/// Topic patterns matched by the bus's own rules, for code outside the bus that must choose topics exactly as a
/// pattern subscription would (a subscription over the stored events, a tool that filters them): each pattern
/// is a regular expression anchored at the start of the topic name, as <c>^(?:pattern)</c>, so <c>".*"</c>
/// matches every topic, <c>"user_"</c> every topic starting with it and <c>"order_placed$"</c> that topic only.
/// </summary>
public sealed class TopicFilter
{
    private readonly TopicPatterns _patterns;

    // ".*" matches every topic (anchored, it matches from the start of any name): no regex is run for it.
    private readonly bool _everything;

    /// <summary>Compiles <paramref name="patterns"/> with <paramref name="matchTimeout"/> per match.</summary>
    /// <param name="patterns">At least one regular expression; <c>".*"</c> matches every topic.</param>
    /// <param name="matchTimeout">Longest one match may take; default 100 ms, as
    /// <see cref="EventBusOptions.RegexMatchTimeout"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="patterns"/> is null.</exception>
    /// <exception cref="ArgumentException">No pattern, an empty pattern, or one that is not a valid regular
    /// expression (the message names it).</exception>
    public TopicFilter(IReadOnlyList<string> patterns, TimeSpan? matchTimeout = null)
    {
        var timeout = matchTimeout ?? TimeSpan.FromMilliseconds(100);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero, nameof(matchTimeout));
        _patterns = new TopicPatterns(patterns, timeout, nameof(patterns));
        _everything = _patterns.Patterns.Contains(".*");
    }

    /// <summary>The patterns as given, without the anchor.</summary>
    public IReadOnlyList<string> Patterns => _patterns.Patterns;

    /// <summary>True when any pattern matches <paramref name="topic"/> from its start.</summary>
    /// <exception cref="System.Text.RegularExpressions.RegexMatchTimeoutException">A pattern took longer than
    /// the match timeout.</exception>
    public bool Matches(string topic)
    {
        ArgumentNullException.ThrowIfNull(topic);
        return _everything || _patterns.Matches(topic);
    }
}
