namespace RxEventBus.Postgres;

/// <summary>
/// What <see cref="SchemaManager.EnsureSchemaAsync"/> changed, or what <see cref="SchemaManager.VerifySchemaAsync"/>
/// found that does not stop the consumer from writing. Each entry is one plain sentence, for a log line.
/// </summary>
public sealed class SchemaReport
{
    internal SchemaReport(IReadOnlyList<string> changes, IReadOnlyList<string> warnings)
    {
        Changes = changes;
        Warnings = warnings;
    }

    /// <summary>
    /// What was created or added, in order (for example <c>added column expires_at (timestamptz NULL) to
    /// "public"."events"</c>, <c>created index events_expires_at_idx</c>); empty when everything was in place,
    /// and always empty from <see cref="SchemaManager.VerifySchemaAsync"/>, which changes nothing.
    /// </summary>
    public IReadOnlyList<string> Changes { get; }

    /// <summary>
    /// What is missing but lets the consumer write: a secondary index, without which some queries are slow.
    /// Empty from <see cref="SchemaManager.EnsureSchemaAsync"/>, which creates the indexes — unless another
    /// relation already holds an index's name.
    /// </summary>
    public IReadOnlyList<string> Warnings { get; }
}
