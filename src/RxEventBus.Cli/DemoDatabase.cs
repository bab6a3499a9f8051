using System.Diagnostics;
using System.Globalization;
using RxEventBus.Postgres;
using RxEventBus.Postgres.Embedded;

namespace RxEventBus.Cli;

/// <summary>
/// Where the demo writes: the database the user named, or a throwaway local cluster started for the run and
/// removed when this is disposed (unless kept with --keep).
/// </summary>
internal sealed class DemoDatabase : IAsyncDisposable
{
    private DemoDatabase(string connectionString, string description, EmbeddedPostgres? server)
    {
        ConnectionString = connectionString;
        Description = description;
        Server = server;
    }

    /// <summary>Npgsql connection string, password included: never print it.</summary>
    public string ConnectionString { get; }

    /// <summary>Where the database is, without its password.</summary>
    public string Description { get; }

    /// <summary>The throwaway cluster; null when the user named a database.</summary>
    public EmbeddedPostgres? Server { get; }

    /// <summary>A URL a user can paste into <c>--database-url</c> to reach a kept cluster.</summary>
    public string? ServerUrl => Server is null
        ? null
        : string.Create(CultureInfo.InvariantCulture, $"postgres://postgres@127.0.0.1:{Server.Port}/postgres");

    /// <summary>How to stop a kept cluster and remove its folder, as the launcher's docs say.</summary>
    public string? ServerStopCommand => Server is null
        ? null
        : (Server.ServerUser is { } user ? $"runuser -u {user} -- " : "") +
          $"{Path.Combine(Server.BinDirectory, "pg_ctl")} -D {Server.DataDirectory} stop && rm -rf {Server.RootDirectory}";

    /// <summary>Uses <paramref name="connectionString"/>, described as the user wrote it (<paramref name="given"/>).</summary>
    public static DemoDatabase Existing(string connectionString, string given) =>
        new(connectionString, DatabaseUrl.Redact(given), server: null);

    /// <summary>Starts a throwaway cluster; <paramref name="note"/> says what is happening.</summary>
    /// <exception cref="EmbeddedPostgresException">It could not be started; the message says why and what to install.</exception>
    public static async Task<DemoDatabase> StartEmbeddedAsync(bool keep, Action<string> note, CancellationToken cancellationToken)
    {
        note("Starting a throwaway PostgreSQL (no --database-url or EB_PG_DATABASE_URL given)…");
        var started = Stopwatch.StartNew();
        var server = await EmbeddedPostgres.StartAsync(new EmbeddedPostgresOptions { Keep = keep }, cancellationToken);
        var fate = keep ? "kept at the end (--keep)" : "removed at the end";
        var description = string.Create(
            CultureInfo.InvariantCulture,
            $"throwaway PostgreSQL at 127.0.0.1:{server.Port}, database postgres, folder {server.RootDirectory}");
        note(string.Create(
            CultureInfo.InvariantCulture,
            $"Started a {description} in {started.Elapsed.TotalSeconds:0.0} s; {fate}."));
        return new DemoDatabase(server.ConnectionString, description, server);
    }

    public async ValueTask DisposeAsync()
    {
        if (Server is not null)
        {
            await Server.DisposeAsync();
        }
    }
}
