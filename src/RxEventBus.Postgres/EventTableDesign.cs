namespace RxEventBus.Postgres;

/// <summary>
/// How the library creates an events table: its indexes and the type of its payload column. An existing table is
/// checked against it (<see cref="SchemaManager"/>): missing indexes of the layout are added, never dropped, and a
/// payload column of another type is a <see cref="SchemaMismatchException"/>.
/// </summary>
public sealed record EventTableDesign
{
    /// <summary>The design of a table made with no options: <see cref="IndexLayout.Default"/>, <see cref="PayloadType.Jsonb"/>.</summary>
    public static EventTableDesign Default { get; } = new();

    /// <summary>The secondary indexes (<see cref="IndexLayout"/>).</summary>
    public IndexLayout Indexes { get; init; } = IndexLayout.Default;

    /// <summary>The type of the <c>data</c> column (<see cref="PayloadType"/>).</summary>
    public PayloadType Payload { get; init; } = PayloadType.Jsonb;
}
