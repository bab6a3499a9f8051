using System.Globalization;
using Npgsql;
using RxEventBus.Postgres;
using RxEventBus.Postgres.Embedded;

namespace RxEventBus.Distributed.Tests.Support;

/// <summary>
/// This project's own throwaway cluster, never the one other test projects share: a test here crashes it
/// (<c>pg_ctl stop -m immediate</c>) and starts it again on the same port and socket. The tests run one at a time
/// (<see cref="DistributedCluster"/>), each in a database of its own: a transaction left open in one database
/// holds back every subscription's fence in the whole cluster, so parallel tests would delay each other.
/// </summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    private EmbeddedPostgres? _server;
    private int _databases;

    public EmbeddedPostgres Server => _server ?? throw new InvalidOperationException("The cluster is not started.");

    public async Task InitializeAsync() => _server = await EmbeddedPostgres.StartAsync();

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    /// <summary>A new database holding the events table <c>public.events</c> as the consumer creates it.</summary>
    public async Task<TestDatabase> CreateDatabaseAsync(string prefix)
    {
        var name = string.Create(CultureInfo.InvariantCulture, $"{prefix}_{Interlocked.Increment(ref _databases)}");
        await Server.CreateDatabaseAsync(name);
        var database = new TestDatabase(Server, name);
        await using var dataSource = NpgsqlDataSource.Create(database.ConnectionString);
        await SchemaManager.EnsureSchemaAsync(dataSource, database.Table);
        return database;
    }
}

/// <summary>The tests of this project, one at a time, on <see cref="ClusterFixture"/>.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class DistributedCluster : ICollectionFixture<ClusterFixture>
{
    public const string Name = "Distributed: own cluster, one test at a time";
}

/// <summary>One test's database on the cluster, and what the test does to it with plain SQL.</summary>
public sealed class TestDatabase(EmbeddedPostgres server, string name)
{
    public EventTable Table { get; } = new("public", "events");

    /// <summary>What the processes are given: <c>--database-url</c>.</summary>
    public string Url { get; } = string.Create(CultureInfo.InvariantCulture, $"postgres://postgres@127.0.0.1:{server.Port}/{name}");

    public string Name => name;

    /// <summary>
    /// Unpooled, with short timeouts: the server is restarted under some tests, and a pooled connection would
    /// outlive it broken.
    /// </summary>
    public string ConnectionString { get; } = new NpgsqlConnectionStringBuilder(server.GetConnectionString(name))
    {
        Pooling = false,
        Timeout = 5,
    }.ConnectionString;

    /// <summary>
    /// A plain-SQL writer: <paramref name="count"/> rows of <paramref name="topic"/> in one transaction, their tx and
    /// position filled by the columns' defaults, as any program's INSERT gets them.
    /// </summary>
    public async Task InsertAsync(int count, string topic)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var insert = new NpgsqlCommand(
            $"INSERT INTO {Table.QualifiedName} (id, topic, data) " +
            "SELECT gen_random_uuid(), @topic, convert_to(jsonb_build_object('n', n)::text, 'UTF8') FROM generate_series(1, @count) AS n",
            connection);
        insert.Parameters.AddWithValue("topic", topic);
        insert.Parameters.AddWithValue("count", count);
        await insert.ExecuteNonQueryAsync();
    }

    /// <summary>Every committed row, in the order a subscription reads them: (tx, position).</summary>
    public async Task<IReadOnlyList<StoredRow>> RowsAsync()
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var select = new NpgsqlCommand(
            $"SELECT id, topic, tx::text, position FROM {Table.QualifiedName} ORDER BY tx, position", connection);
        await using var reader = await select.ExecuteReaderAsync();
        var rows = new List<StoredRow>();
        while (await reader.ReadAsync())
        {
            rows.Add(new StoredRow(
                reader.GetGuid(0),
                reader.GetString(1),
                new Cursor(ulong.Parse(reader.GetString(2), CultureInfo.InvariantCulture), reader.GetInt64(3))));
        }

        return rows;
    }

    /// <summary>
    /// The transaction ids of sessions of <paramref name="applicationName"/> that are inside a transaction that
    /// wrote (holds an xid): a psql writer between its INSERT and its COMMIT.
    /// </summary>
    public async Task<IReadOnlyList<ulong>> OpenWritersAsync(string applicationName)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var select = new NpgsqlCommand(
            "SELECT backend_xid::text FROM pg_stat_activity WHERE application_name LIKE @name AND backend_xid IS NOT NULL",
            connection);
        select.Parameters.AddWithValue("name", applicationName);
        await using var reader = await select.ExecuteReaderAsync();
        var xids = new List<ulong>();
        while (await reader.ReadAsync())
        {
            xids.Add(ulong.Parse(reader.GetString(0), CultureInfo.InvariantCulture));
        }

        return xids;
    }

    /// <summary>The checkpoint stored for <paramref name="subscription"/>, or null.</summary>
    public async Task<Cursor?> CheckpointAsync(string subscription)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var select = new NpgsqlCommand(
            $"SELECT tx::text, position FROM {Table.SubscriptionsQualifiedName} WHERE name = @name", connection);
        select.Parameters.AddWithValue("name", subscription);
        await using var reader = await select.ExecuteReaderAsync();
        return await reader.ReadAsync()
            ? new Cursor(ulong.Parse(reader.GetString(0), CultureInfo.InvariantCulture), reader.GetInt64(1))
            : null;
    }
}

/// <summary>A row's place in the log, (tx, position), compared as the reader orders rows.</summary>
public readonly record struct Cursor(ulong Transaction, long Position) : IComparable<Cursor>
{
    public int CompareTo(Cursor other) =>
        Transaction != other.Transaction ? Transaction.CompareTo(other.Transaction) : Position.CompareTo(other.Position);

    /// <summary>Reads <c>LogPosition.ToString()</c>'s form, <c>tx:position</c>.</summary>
    public static Cursor Parse(string text)
    {
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        return new Cursor(
            ulong.Parse(text.AsSpan(0, colon), CultureInfo.InvariantCulture),
            long.Parse(text.AsSpan(colon + 1), CultureInfo.InvariantCulture));
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Transaction}:{Position}");

    public static bool operator <(Cursor left, Cursor right) => left.CompareTo(right) < 0;

    public static bool operator >(Cursor left, Cursor right) => left.CompareTo(right) > 0;

    public static bool operator <=(Cursor left, Cursor right) => left.CompareTo(right) <= 0;

    public static bool operator >=(Cursor left, Cursor right) => left.CompareTo(right) >= 0;
}

/// <summary>A committed row: its id, topic and place.</summary>
public sealed record StoredRow(Guid Id, string Topic, Cursor At);
