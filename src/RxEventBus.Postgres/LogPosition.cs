using System.Globalization;

namespace RxEventBus.Postgres;

/// <summary>
/// Where a row stands in the events table read as a log: its writing transaction's id (<c>tx</c>, a 64-bit
/// <c>xid8</c>) and its <c>position</c> from the table's sequence. Subscriptions deliver rows in this order and
/// store it as their checkpoint; every row at or before a checkpoint has been handled.
/// </summary>
/// <remarks>
/// The order is stable and the same for every reader, and a reader never passes a row that commits later
/// (docs/subscriptions.md). It is not exactly commit order: two transactions that overlapped are delivered in
/// the order their ids were assigned, once both have ended. The text form is <c>"&lt;tx&gt;:&lt;position&gt;"</c>.
/// </remarks>
/// <param name="Transaction">The row's <c>tx</c>: the id of the transaction that wrote it.</param>
/// <param name="Sequence">The row's <c>position</c>: its order within the table.</param>
public readonly record struct LogPosition(ulong Transaction, long Sequence) : IComparable<LogPosition>
{
    /// <summary>Before every row: (0, 0). Real transaction ids start at 3.</summary>
    public static LogPosition Beginning => default;

    /// <summary>Compares by transaction, then by position.</summary>
    public int CompareTo(LogPosition other)
    {
        var byTransaction = Transaction.CompareTo(other.Transaction);
        return byTransaction != 0 ? byTransaction : Sequence.CompareTo(other.Sequence);
    }

    /// <summary>True when <paramref name="left"/> comes before <paramref name="right"/>.</summary>
    public static bool operator <(LogPosition left, LogPosition right) => left.CompareTo(right) < 0;

    /// <summary>True when <paramref name="left"/> comes after <paramref name="right"/>.</summary>
    public static bool operator >(LogPosition left, LogPosition right) => left.CompareTo(right) > 0;

    /// <summary>True when <paramref name="left"/> does not come after <paramref name="right"/>.</summary>
    public static bool operator <=(LogPosition left, LogPosition right) => left.CompareTo(right) <= 0;

    /// <summary>True when <paramref name="left"/> does not come before <paramref name="right"/>.</summary>
    public static bool operator >=(LogPosition left, LogPosition right) => left.CompareTo(right) >= 0;

    /// <summary>The later of two positions.</summary>
    public static LogPosition Max(LogPosition left, LogPosition right) => left >= right ? left : right;

    /// <summary><c>"&lt;tx&gt;:&lt;position&gt;"</c>, for example <c>"1356:2"</c>; <see cref="Parse"/> reads it back.</summary>
    public override string ToString() =>
        Transaction.ToString(CultureInfo.InvariantCulture) + ":" + Sequence.ToString(CultureInfo.InvariantCulture);

    /// <summary>Reads the text form <c>"&lt;tx&gt;:&lt;position&gt;"</c>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    /// <exception cref="FormatException">The text is not two integers separated by ':' (the transaction not
    /// negative).</exception>
    public static LogPosition Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return TryParse(text, out var position)
            ? position
            : throw new FormatException($"'{text}' is not a log position: expected \"<tx>:<position>\", for example \"1356:2\".");
    }

    /// <summary>Reads the text form; false when <paramref name="text"/> is not one.</summary>
    public static bool TryParse(string? text, out LogPosition position)
    {
        position = default;
        var colon = text?.IndexOf(':', StringComparison.Ordinal) ?? -1;
        if (colon <= 0 ||
            !ulong.TryParse(text.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out var transaction) ||
            !long.TryParse(text.AsSpan(colon + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var sequence))
        {
            return false;
        }

        position = new LogPosition(transaction, sequence);
        return true;
    }
}
