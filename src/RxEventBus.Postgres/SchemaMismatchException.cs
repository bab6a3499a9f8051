namespace RxEventBus.Postgres;

/// <summary>
/// Thrown at start when the events table or its dead-letter table exists in a shape the consumer cannot write
/// to (a column of another type, a NOT NULL column it fills with NULL or not at all, no unique key on
/// <c>id</c>), or — when the consumer may not change the schema — when something it needs is missing.
/// Without this check every batch would fail and be retried forever. Nothing was changed when it is thrown.
/// </summary>
public sealed class SchemaMismatchException : Exception
{
    /// <summary>
    /// Creates the exception for <paramref name="table"/>. The message is a first line naming the table,
    /// then each difference on a line of its own, then <paramref name="remedy"/>.
    /// </summary>
    /// <param name="table">The events table's qualified name, as in <see cref="EventTable.QualifiedName"/>.</param>
    /// <param name="differences">What prevents the writes, one plain sentence each.</param>
    /// <param name="remedy">What to do about it.</param>
    public SchemaMismatchException(string table, IReadOnlyList<string> differences, string remedy)
        : base(Format(table, differences, remedy))
    {
        Table = table;
        Differences = differences;
    }

    /// <summary>Creates the exception with no table or differences (for serializers and tooling).</summary>
    public SchemaMismatchException()
        : base("The events table does not match what the persistence consumer writes.")
    {
        Table = string.Empty;
        Differences = [];
    }

    /// <summary>Creates the exception with a message of your own, no table and no differences.</summary>
    public SchemaMismatchException(string message)
        : base(message)
    {
        Table = string.Empty;
        Differences = [];
    }

    /// <summary>Creates the exception with a message of your own, no table or differences, and the failure behind it.</summary>
    public SchemaMismatchException(string message, Exception innerException)
        : base(message, innerException)
    {
        Table = string.Empty;
        Differences = [];
    }

    /// <summary>The events table's qualified name (<c>"schema"."table"</c>); empty when none is known.</summary>
    public string Table { get; }

    /// <summary>What prevents the consumer from writing, one plain sentence each.</summary>
    public IReadOnlyList<string> Differences { get; }

    private static string Format(string table, IReadOnlyList<string> differences, string remedy)
    {
        ArgumentNullException.ThrowIfNull(differences);
        return $"The persistence consumer cannot write to {table}:\n" +
               string.Concat(differences.Select(static d => $"- {d}\n")) +
               remedy;
    }
}
