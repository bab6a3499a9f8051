using Npgsql;
using RxEventBus.PipelineBench.Infrastructure;
using RxEventBus.Postgres;

namespace RxEventBus.PipelineBench.Contenders;

// One way of getting the workload into the table. The harness calls PrepareAsync (untimed: connections,
// subscriptions, JIT of the setup), then RunAsync (timed: from the first event handed over to the last row
// committed — and, for the bus, acknowledged), then DisposeAsync (untimed), then counts the rows.
internal abstract class Contender : IAsyncDisposable
{
    protected Contender(ContenderContext context) => Context = context;

    internal abstract string Key { get; }

    internal abstract string Description { get; }

    // False for the stage-isolation contenders that write nothing: their count is checked on the bus instead.
    internal virtual bool WritesRows => true;

    // The type its table's data column has, and each payload it writes: our table's (--payload); a-seed's own.
    internal virtual string DataColumnType => CopyRows.ColumnType(Context.Table.Design.Payload);

    protected ContenderContext Context { get; }

    // Changes to the fresh table a diagnostic contender needs, before anything is timed.
    internal virtual Task PrepareTableAsync() => Task.CompletedTask;

    internal virtual Task PrepareAsync() => Task.CompletedTask;

    // Something a contender measured about itself in its last run, printed under the run's table; null for none.
    internal virtual string? Note => null;

    // Returns how many events the contender saw through (committed, or acknowledged for the no-write ones).
    internal abstract Task<long> RunAsync();

    public ValueTask DisposeAsync() => ReleaseAsync();

    protected virtual ValueTask ReleaseAsync() => ValueTask.CompletedTask;

    protected static RowValues Values(BenchRow row) => new(row.Event, row.Data, row.InitializedAt, row.OccurredAt, row.ExpiresAt);
}

internal sealed record ContenderContext(BenchDatabase Database, EventTable Table, Workload Workload, BenchSettings Settings)
{
    internal NpgsqlDataSource DataSource => Database.DataSource;

    internal string CopyCommand => CopyRows.CopyCommand(Table);

    // The data column's type in our table: the one the table was created with (--payload).
    internal NpgsqlTypes.NpgsqlDbType DataType => CopyRows.DataType(Table.Design.Payload);
}
