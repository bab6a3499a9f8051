using System.Globalization;
using Npgsql;
using RxEventBus.Postgres;
using RxEventBus.Postgres.Embedded;

namespace RxEventBus.PipelineBench.Infrastructure;

// The one database every contender writes to: a throwaway cluster (EmbeddedPostgres), or --database-url.
// Each contender gets a schema of its own, dropped and created anew, holding a table made from
// EventTable.CreateScript: the library's table definition, indexes and all.
internal sealed class BenchDatabase : IAsyncDisposable
{
    private readonly EmbeddedPostgres? _server;
    private int? _localPostmaster;

    private BenchDatabase(string connectionString, EmbeddedPostgres? server)
    {
        ConnectionString = connectionString;
        _server = server;
        DataSource = NpgsqlDataSource.Create(connectionString);
    }

    internal string ConnectionString { get; }

    // Shared by the harness's own statements and contenders (a) to (c); (d) builds its own from the options.
    internal NpgsqlDataSource DataSource { get; }

    internal string Description => _server is null
        ? "--database-url" + (_localPostmaster is { } pid ? $" (a server on this machine, postmaster {pid}: its CPU is measured)" : "")
        : $"EmbeddedPostgres at 127.0.0.1:{_server.Port} ({_server.DataDirectory})";

    // The postmaster's pid, to measure the server's CPU time; null when the database is not ours.
    internal int? ServerPid
    {
        get
        {
            if (_server is null)
            {
                return _localPostmaster;
            }

            var first = File.ReadLines(Path.Combine(_server.DataDirectory, "postmaster.pid")).FirstOrDefault();
            return int.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : null;
        }
    }

    internal static async Task<BenchDatabase> OpenAsync(string? databaseUrl)
    {
        if (!string.IsNullOrWhiteSpace(databaseUrl))
        {
            var database = new BenchDatabase(DatabaseUrl.ToConnectionString(databaseUrl), null);
            database._localPostmaster = await database.LocalPostmasterAsync();
            return database;
        }

        var server = await EmbeddedPostgres.StartAsync(new EmbeddedPostgresOptions
        {
            ServerSettings = new Dictionary<string, string>
            {
                // The latency mode reads each row's commit time with pg_xact_commit_timestamp(xmin).
                ["track_commit_timestamp"] = "on",
                // A 1M-row load writes about 1 GB of WAL (heap + 5 indexes); with the default 1 GB a checkpoint
                // would land in the middle of some contenders and not others.
                ["max_wal_size"] = "4GB",
                // The launcher wakes once a minute and vacuums whichever insert-only table passed its threshold:
                // it would land on a random contender of a run. Every table is dropped after its run anyway.
                ["autovacuum"] = "off",
            },
        });
        return new BenchDatabase(server.ConnectionString, server);
    }

    // A server on this machine (a cluster started by hand for runs that keep a table between invocations): the
    // parent of this session's backend, when /proc shows that backend as a postgres process; null otherwise.
    private async Task<int?> LocalPostmasterAsync()
    {
        var backend = await ScalarAsync("SELECT pg_backend_pid()");
        try
        {
            var status = $"/proc/{backend}/status";
            if (!File.Exists(status) || File.ReadLines(status).FirstOrDefault()?.Contains("postgres", StringComparison.Ordinal) != true)
            {
                return null;
            }

            var ppid = File.ReadLines(status).FirstOrDefault(l => l.StartsWith("PPid:", StringComparison.Ordinal))?["PPid:".Length..].Trim();
            return int.TryParse(ppid, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    internal async Task<string> ScalarAsync(string sql)
    {
        await using var command = DataSource.CreateCommand(sql);
        return Convert.ToString(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture) ?? "";
    }

    internal async Task ExecuteAsync(string sql)
    {
        await using var command = DataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }

    // A fresh, empty table for one contender, and the dirty pages of the previous one flushed first, so that
    // no contender pays for its predecessor's checkpoint. `design`: the index layout and payload type
    // (--layout, --payload); null for the library's default.
    internal async Task<EventTable> FreshTableAsync(string schema, EventTableDesign? design = null)
    {
        var table = new EventTable(schema, "events", design ?? EventTableDesign.Default);
        await ExecuteAsync($"DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
        await ExecuteAsync(table.CreateScript);
        await ExecuteAsync("CHECKPOINT");
        return table;
    }

    internal async Task<long> CountAsync(EventTable table)
    {
        await using var command = DataSource.CreateCommand($"SELECT count(*) FROM {table.QualifiedName}");
        return (long)(await command.ExecuteScalarAsync())!;
    }

    // What the data column of `table` is and holds, checked against `columnType` (jsonb, json or bytea) after a
    // contender wrote `sample` into it: null when the column is of that type (information_schema), the stored
    // value is too (pg_typeof) and it is the sample's payload (bytea and json: the same bytes; jsonb: the same
    // JSON value); otherwise what differs. A contender that ignored --payload fails here, even where the server
    // took what it sent (jsonb's version byte and text are valid bytea).
    internal async Task<string?> CheckDataAsync(EventTable table, string columnType, BenchRow sample)
    {
        if (await DataColumnTypeAsync(table) is var found && found != columnType)
        {
            return $"its data column is {found ?? "missing"}, not {columnType}";
        }

        var same = columnType switch
        {
            "bytea" => "data = convert_to($2, 'UTF8')",
            "json" => "data::text = $2",
            _ => "data = $2::jsonb",
        };
        await using (var command = DataSource.CreateCommand($"SELECT pg_typeof(data)::text, {same} FROM {table.QualifiedName} WHERE id = $1"))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = sample.Event.Id });
            command.Parameters.Add(new NpgsqlParameter { Value = System.Text.Encoding.UTF8.GetString(sample.Data) });
            await using var reader = await command.ExecuteReaderAsync();
            if (!await reader.ReadAsync())
            {
                return $"event {sample.Event.Id} is not in it";
            }

            var stored = reader.GetString(0);
            return stored != columnType ? $"event {sample.Event.Id}'s data is {stored}, not {columnType}"
                : !reader.GetBoolean(1) ? $"event {sample.Event.Id}'s data is not the payload it was given as {columnType}"
                : null;
        }
    }

    // The data column's type as information_schema names it (jsonb, json, bytea), null when there is none.
    internal async Task<string?> DataColumnTypeAsync(EventTable table)
    {
        await using var command = DataSource.CreateCommand(
            "SELECT data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 AND column_name = 'data'");
        command.Parameters.Add(new NpgsqlParameter { Value = table.Schema });
        command.Parameters.Add(new NpgsqlParameter { Value = table.Table });
        return await command.ExecuteScalarAsync() as string;
    }

    internal async Task<long> LongAsync(string sql)
    {
        await using var command = DataSource.CreateCommand(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    // The plan PostgreSQL picks for `query`, its nodes on one line ("Limit / Index Scan Backward using …"):
    // EXPLAIN without ANALYZE, so it costs a planning and nothing more.
    internal async Task<string> PlanAsync(string query)
    {
        var nodes = new List<string>();
        await using var command = DataSource.CreateCommand("EXPLAIN " + query);
        await using var reader = await command.ExecuteReaderAsync();
        var first = true;
        while (await reader.ReadAsync())
        {
            var line = reader.GetString(0);
            if (!first && !line.Contains("->", StringComparison.Ordinal))
            {
                continue;
            }

            first = false;
            var node = line.Replace("->", "", StringComparison.Ordinal).Trim();
            var cost = node.IndexOf("  (cost=", StringComparison.Ordinal);
            nodes.Add(cost < 0 ? node : node[..cost]);
        }

        return string.Join(" / ", nodes);
    }

    internal Task DropAsync(EventTable table) => ExecuteAsync($"DROP SCHEMA IF EXISTS \"{table.Schema}\" CASCADE");

    // A slow database: every statement on the table (each COPY) sleeps first. The memory mode uses it so that
    // the publisher outruns the writers and the buffer's bound, not the database's speed, is what is tested.
    internal Task SlowDownAsync(EventTable table, int millisecondsPerStatement) => ExecuteAsync($"""
        CREATE OR REPLACE FUNCTION "{table.Schema}".bench_sleep() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN PERFORM pg_sleep({millisecondsPerStatement / 1000.0:0.000}); RETURN NULL; END $$;
        CREATE TRIGGER bench_sleep BEFORE INSERT ON {table.QualifiedName}
            FOR EACH STATEMENT EXECUTE FUNCTION "{table.Schema}".bench_sleep();
        """);

    public async ValueTask DisposeAsync()
    {
        await DataSource.DisposeAsync();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
