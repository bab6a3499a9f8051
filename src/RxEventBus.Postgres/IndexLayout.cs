namespace RxEventBus.Postgres;

/// <summary>
/// Which secondary indexes the events table gets when the library creates it (or adds to an existing table when
/// they are missing). Every index makes each written row cost more; each one makes some query fast. The primary
/// key on <c>id</c> and the <c>(tx, position)</c> index the subscriptions read by are in every layout.
/// docs/persistence.md lists what each layout costs per row and what each store query then costs.
/// </summary>
/// <remarks>
/// The library never drops an index: a table created with <see cref="Full"/> keeps its indexes when the option
/// changes to a smaller layout (drop the ones you no longer want yourself, docs/persistence.md shows how).
/// </remarks>
public enum IndexLayout
{
    /// <summary>
    /// The measured default: every store query served by an index, at a lower cost per row than
    /// <see cref="Full"/>. docs/persistence.md says which indexes and why.
    /// </summary>
    Default = 0,

    /// <summary>
    /// A B-tree on every column a query filters or orders by: <c>occurred_at</c>, <c>topic</c>,
    /// <c>transaction_id</c>, <c>expires_at</c>, and <c>(tx, position)</c>. The layout of the versions before
    /// index layouts existed.
    /// </summary>
    Full = 1,

    /// <summary>
    /// Only what writing, subscriptions and TTL cleanup need: the primary key, <c>(tx, position)</c> and a BRIN
    /// index on <c>expires_at</c>. Queries by topic, transaction id or time read the whole table.
    /// </summary>
    Minimal = 2,
}
