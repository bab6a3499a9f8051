using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using RxEventBus.Postgres.Embedded.Internal;

namespace RxEventBus.Postgres.Embedded;

/// <summary>
/// A throwaway PostgreSQL cluster made from the machine's own binaries: <c>initdb</c> into a new
/// <c>/tmp/rxeb-XXXXXX</c> folder, then <c>pg_ctl start</c> listening on 127.0.0.1 at a free port and on a
/// unix socket in that folder. Disposing stops it and removes the folder (unless
/// <see cref="EmbeddedPostgresOptions.Keep"/>).
/// </summary>
/// <remarks>
/// <para>The superuser is <c>postgres</c> with trust authentication: anyone on this machine can connect,
/// which is the point of a throwaway cluster and the reason it listens on loopback only.</para>
/// <para>As root, the server runs as <see cref="EmbeddedPostgresOptions.ServerUser"/> through <c>runuser</c>,
/// since PostgreSQL refuses to run as root; the folder is handed to that user first.</para>
/// <para>For speed, <c>fsync</c> and <c>full_page_writes</c> are off: the cluster does not survive a machine
/// crash, which a throwaway cluster never needs to. <c>synchronous_commit</c> stays on, so a commit that
/// returned survives a server crash — <see cref="StopAsync(bool, CancellationToken)"/> with
/// <c>immediate: true</c> then <see cref="StartAsync(CancellationToken)"/> is such a crash and its recovery.</para>
/// <para>Methods are safe to call from several threads; lifecycle steps run one at a time.</para>
/// <para>A process that exits normally without disposing still stops and removes the cluster (through
/// <see cref="AppDomain.ProcessExit"/>); one ended by a signal does not, so a program stopped with Ctrl+C
/// should handle <see cref="Console.CancelKeyPress"/> and dispose.</para>
/// </remarks>
public sealed partial class EmbeddedPostgres : IAsyncDisposable
{
    private const string Host = "127.0.0.1";
    private const string SuperUser = "postgres";
    private const int LogLinesInErrors = 40;

    private readonly EmbeddedPostgresOptions _options;
    private readonly ServerAccount _account;

    // One lifecycle step at a time: a stop racing a start would leave pg_ctl's view and ours apart.
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly EventHandler _onProcessExit;
    private bool _running;
    private bool _disposed;

    private EmbeddedPostgres(EmbeddedPostgresOptions options, ServerAccount account, string binDirectory, string rootDirectory, int port)
    {
        _options = options;
        _account = account;
        BinDirectory = binDirectory;
        RootDirectory = rootDirectory;
        DataDirectory = Path.Combine(rootDirectory, "data");
        LogPath = Path.Combine(rootDirectory, "pg.log");
        Port = port;
        _onProcessExit = (_, _) => RemoveAtProcessExit();
    }

    /// <summary>
    /// Npgsql connection string for the <c>postgres</c> database as the <c>postgres</c> superuser over TCP:
    /// <c>Host=127.0.0.1;Port=…;Username=postgres;Database=postgres</c>. Every other keyword (pooling,
    /// timeouts) is left at the client's default.
    /// </summary>
    public string ConnectionString => GetConnectionString("postgres");

    /// <summary>The loopback TCP port the server listens on; the same after a restart.</summary>
    public int Port { get; private set; }

    /// <summary>The cluster's own folder (<c>…/rxeb-XXXXXX</c>): holds <c>data/</c>, <c>pg.log</c> and the unix socket.</summary>
    public string RootDirectory { get; }

    /// <summary>The cluster's data folder (<c>PGDATA</c>), inside <see cref="RootDirectory"/>.</summary>
    public string DataDirectory { get; }

    /// <summary>
    /// The folder holding the server's unix socket <c>.s.PGSQL.&lt;Port&gt;</c>: <see cref="RootDirectory"/>.
    /// Npgsql reaches it with <c>Host=&lt;this folder&gt;</c>; psql with <c>-h &lt;this folder&gt; -p &lt;Port&gt;</c>.
    /// </summary>
    public string SocketDirectory => RootDirectory;

    /// <summary>The server's log (<c>pg.log</c>), appended to across restarts: attach it to a failed test.</summary>
    public string LogPath { get; }

    /// <summary>The folder of the <c>initdb</c>, <c>pg_ctl</c> and <c>postgres</c> programs used.</summary>
    public string BinDirectory { get; }

    /// <summary>
    /// The OS user the server runs as when this process runs as root (<see cref="EmbeddedPostgresOptions.ServerUser"/>);
    /// null when it runs as the current user.
    /// </summary>
    public string? ServerUser => _account.UserName;

    /// <summary>Whether the server was started and not stopped since, as far as this object knows.</summary>
    public bool IsRunning => Volatile.Read(ref _running);

    /// <summary>
    /// Makes and starts a throwaway cluster. Takes about a second: <c>initdb</c> is most of it.
    /// </summary>
    /// <param name="options">Settings; null for the defaults.</param>
    /// <param name="cancellationToken">Abandons the start; what was made so far is removed.</param>
    /// <returns>The running cluster; dispose it to stop it and remove its folder.</returns>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    /// <exception cref="EmbeddedPostgresException">
    /// The binaries were not found (the message says how to install them), the server's OS user is missing
    /// when running as root, or a step failed (the message holds the tool's error and the tail of <c>pg.log</c>).
    /// </exception>
    /// <exception cref="PlatformNotSupportedException">On Windows.</exception>
    public static async Task<EmbeddedPostgres> StartAsync(EmbeddedPostgresOptions? options = null, CancellationToken cancellationToken = default)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("EmbeddedPostgres runs PostgreSQL on Linux and macOS only.");
        }

        options ??= new EmbeddedPostgresOptions();
        options.Validate();
        var binDirectory = PostgresBinaries.Locate(options.BinDirectory);
        var account = await ServerAccount.ResolveAsync(options.ServerUser, options.Timeout, cancellationToken).ConfigureAwait(false);
        var rootDirectory = ClusterFolder.Create(options.ResolvedTempDirectory);
        var port = options.Port != 0 ? options.Port : ClusterFolder.FreeLoopbackPort();
        var server = new EmbeddedPostgres(options, account, binDirectory, rootDirectory, port);
        try
        {
            await server.CreateAndStartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await server.AbandonAsync().ConfigureAwait(false);
            throw;
        }

        if (!options.Keep)
        {
            AppDomain.CurrentDomain.ProcessExit += server._onProcessExit;
        }

        return server;
    }

    /// <summary>
    /// Starts the server again on the same data folder and port after <see cref="StopAsync(bool, CancellationToken)"/>,
    /// running crash recovery first if it was stopped with <c>immediate: true</c>. Does nothing if it is running.
    /// </summary>
    /// <param name="cancellationToken">Abandons the wait; the server may still come up.</param>
    /// <exception cref="EmbeddedPostgresException">The server did not start; the message holds the tail of <c>pg.log</c>.</exception>
    /// <exception cref="ObjectDisposedException">The cluster was disposed.</exception>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_running)
            {
                return;
            }

            var logStart = ClusterFolder.Length(LogPath);
            var result = await PgCtlStartAsync(cancellationToken).ConfigureAwait(false);
            if (!result.Succeeded)
            {
                throw StepFailed("pg_ctl start", result, logStart);
            }

            Volatile.Write(ref _running, true);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Stops the server, keeping its data folder and port for <see cref="StartAsync(CancellationToken)"/>.
    /// Does nothing if it is not running.
    /// </summary>
    /// <param name="immediate">
    /// False: <c>pg_ctl stop -m fast</c> — sessions are ended and a shutdown checkpoint written. True:
    /// <c>-m immediate</c> — every server process quits at once, as in a crash; committed data survives and
    /// the next start recovers it from the WAL.
    /// </param>
    /// <param name="cancellationToken">Abandons the wait; the server may still stop.</param>
    /// <exception cref="EmbeddedPostgresException">pg_ctl failed to stop the server.</exception>
    /// <exception cref="ObjectDisposedException">The cluster was disposed.</exception>
    public async Task StopAsync(bool immediate = false, CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            await StopCoreAsync(immediate ? "immediate" : "fast", cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Stops the server as <see cref="StopAsync(bool, CancellationToken)"/> does, then starts it again.</summary>
    /// <param name="immediate">True to stop as in a crash (<c>pg_ctl stop -m immediate</c>).</param>
    /// <param name="cancellationToken">Abandons the wait.</param>
    /// <exception cref="EmbeddedPostgresException">A step failed.</exception>
    /// <exception cref="ObjectDisposedException">The cluster was disposed.</exception>
    public async Task RestartAsync(bool immediate = false, CancellationToken cancellationToken = default)
    {
        await StopAsync(immediate, cancellationToken).ConfigureAwait(false);
        await StartAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Npgsql connection string for <paramref name="database"/> as the <c>postgres</c> superuser over TCP.
    /// </summary>
    /// <param name="database">A plain database name: a letter or underscore, then letters, digits or underscores.</param>
    /// <exception cref="ArgumentException">The name is not a plain database name.</exception>
    public string GetConnectionString(string database)
    {
        CheckDatabaseName(database);
        return string.Create(CultureInfo.InvariantCulture, $"Host={Host};Port={Port};Username={SuperUser};Database={database}");
    }

    /// <summary>Creates a database with <c>createdb</c> from <see cref="BinDirectory"/>.</summary>
    /// <param name="database">A plain database name: a letter or underscore, then letters, digits or underscores.</param>
    /// <param name="cancellationToken">Abandons the wait.</param>
    /// <returns>The Npgsql connection string for the new database.</returns>
    /// <exception cref="ArgumentException">The name is not a plain database name.</exception>
    /// <exception cref="EmbeddedPostgresException">createdb is missing or failed (for example the database exists).</exception>
    /// <exception cref="ObjectDisposedException">The cluster was disposed.</exception>
    public async Task<string> CreateDatabaseAsync(string database, CancellationToken cancellationToken = default)
    {
        CheckDatabaseName(database);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed), this);
        var createdb = PostgresBinaries.Program(BinDirectory, "createdb");
        if (!File.Exists(createdb))
        {
            throw new EmbeddedPostgresException($"createdb was not found in {BinDirectory}; install PostgreSQL's client programs beside the server's.");
        }

        // A client needs no particular OS user: the current one connects over TCP with trust authentication.
        string[] arguments = ["-h", Host, "-p", Port.ToString(CultureInfo.InvariantCulture), "-U", SuperUser, database];
        var result = await ProcessRunner.RunAsync(createdb, arguments, RootDirectory, _options.Timeout, cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            throw new EmbeddedPostgresException($"createdb {database} failed (exit code {result.ExitCode}): {result.Diagnostics}");
        }

        return GetConnectionString(database);
    }

    /// <summary>The last lines of <see cref="LogPath"/>, or an empty string when there is no log yet.</summary>
    /// <param name="maxLines">How many lines at most. Default: 50.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxLines"/> is not positive.</exception>
    public string ReadLogTail(int maxLines = 50)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxLines);
        return ClusterFolder.ReadTail(LogPath, maxLines);
    }

    /// <summary>
    /// Stops the server (<c>pg_ctl stop -m fast</c>, falling back to immediate, then to killing it) and
    /// removes <see cref="RootDirectory"/>. With <see cref="EmbeddedPostgresOptions.Keep"/>, does neither:
    /// the server keeps running and its connection string stays usable.
    /// </summary>
    /// <exception cref="EmbeddedPostgresException">The server could not be stopped or its folder removed.</exception>
    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_disposed)
            {
                return;
            }

            Volatile.Write(ref _disposed, true);
            AppDomain.CurrentDomain.ProcessExit -= _onProcessExit;
            if (!_options.Keep)
            {
                await StopAnyHowAsync("fast").ConfigureAwait(false);
                ClusterFolder.Delete(RootDirectory);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task CreateAndStartAsync(CancellationToken cancellationToken)
    {
        await _account.TakeOwnershipAsync(RootDirectory, _options.Timeout, cancellationToken).ConfigureAwait(false);

        // --no-sync: nothing initdb writes needs to survive a machine crash. --locale=C: the same sort order
        // and no dependence on which locales the machine generated.
        var initdb = await RunServerProgramAsync(
            "initdb",
            ["-D", DataDirectory, "-U", SuperUser, "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"],
            cancellationToken).ConfigureAwait(false);
        if (!initdb.Succeeded)
        {
            throw StepFailed("initdb", initdb, logStart: null);
        }

        ClusterFolder.AppendSettings(DataDirectory, "Throwaway cluster of RxEventBus.Postgres.Embedded", [
            new("listen_addresses", Host),
            new("port", Port.ToString(CultureInfo.InvariantCulture)),
            new("unix_socket_directories", SocketDirectory),
            new("fsync", "off"),
            new("full_page_writes", "off"),
        ]);
        if (_options.ServerSettings.Count > 0)
        {
            ClusterFolder.AppendSettings(DataDirectory, "EmbeddedPostgresOptions.ServerSettings", _options.ServerSettings);
        }

        // A free port picked here can be taken by another process before the server binds it; then pick again.
        const int Attempts = 3;
        for (var attempt = 1; ; attempt++)
        {
            var logStart = ClusterFolder.Length(LogPath);
            var result = await PgCtlStartAsync(cancellationToken).ConfigureAwait(false);
            if (result.Succeeded)
            {
                Volatile.Write(ref _running, true);
                return;
            }

            var log = ClusterFolder.ReadTail(LogPath, LogLinesInErrors, logStart);
            if (_options.Port != 0 || attempt == Attempts || !PortTaken().IsMatch(log))
            {
                throw StepFailed("pg_ctl start", result, logStart);
            }

            Port = ClusterFolder.FreeLoopbackPort();
            ClusterFolder.AppendSettings(DataDirectory, "The port above was taken", [new("port", Port.ToString(CultureInfo.InvariantCulture))]);
        }
    }

    private Task<ProcessResult> PgCtlStartAsync(CancellationToken cancellationToken) =>
        RunServerProgramAsync("pg_ctl", ["-D", DataDirectory, "-l", LogPath, "-w", "-t", TimeoutSeconds, "start"], cancellationToken);

    private async Task StopCoreAsync(string mode, CancellationToken cancellationToken)
    {
        if (!_running)
        {
            return;
        }

        var logStart = ClusterFolder.Length(LogPath);
        var result = await RunServerProgramAsync("pg_ctl", ["-D", DataDirectory, "-m", mode, "-w", "-t", TimeoutSeconds, "stop"], cancellationToken)
            .ConfigureAwait(false);
        if (!result.Succeeded)
        {
            // pg_ctl status exits 3 when no server runs: it died on its own, so there is nothing left to stop.
            var status = await RunServerProgramAsync("pg_ctl", ["-D", DataDirectory, "status"], cancellationToken).ConfigureAwait(false);
            if (status.ExitCode != 3)
            {
                throw StepFailed($"pg_ctl stop -m {mode}", result, logStart);
            }
        }

        Volatile.Write(ref _running, false);
    }

    // Gets the server down whatever it takes; used where the cluster is being thrown away.
    private async Task StopAnyHowAsync(string mode)
    {
        // A start that failed or timed out may still have brought a server up: a pid file is the sign.
        // If that server is in fact gone, pg_ctl stop fails and pg_ctl status says so.
        if (File.Exists(Path.Combine(DataDirectory, "postmaster.pid")))
        {
            Volatile.Write(ref _running, true);
        }

        if (mode != "immediate")
        {
            try
            {
                await StopCoreAsync(mode, CancellationToken.None).ConfigureAwait(false);
                return;
            }
            catch (EmbeddedPostgresException)
            {
                // Falls through to immediate, then to killing it.
            }
        }

        try
        {
            await StopCoreAsync("immediate", CancellationToken.None).ConfigureAwait(false);
        }
        catch (EmbeddedPostgresException)
        {
            KillPostmaster();
            Volatile.Write(ref _running, false);
        }
    }

    // The last resort: the postmaster's pid is the first line of postmaster.pid. Killing its tree takes the
    // backends with it.
    private void KillPostmaster()
    {
        try
        {
            var firstLine = File.ReadLines(Path.Combine(DataDirectory, "postmaster.pid")).FirstOrDefault();
            if (!int.TryParse(firstLine, NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                return;
            }

            Process postmaster;
            try
            {
                postmaster = Process.GetProcessById(pid);
            }
            catch (ArgumentException)
            {
                return; // Already gone.
            }

            using (postmaster)
            {
                postmaster.Kill(entireProcessTree: true);
                postmaster.WaitForExit(_options.Timeout);
            }
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or UnauthorizedAccessException or System.ComponentModel.Win32Exception)
        {
            throw new EmbeddedPostgresException($"Could not stop the server of {DataDirectory}; it may still be running.", e);
        }
    }

    // After a failed start: whatever ran is stopped, and the folder goes unless the caller wants to keep it.
    private async Task AbandonAsync()
    {
        try
        {
            await StopAnyHowAsync("immediate").ConfigureAwait(false);
            if (!_options.Keep)
            {
                ClusterFolder.Delete(RootDirectory);
            }
        }
        catch (EmbeddedPostgresException)
        {
            // The start's own exception says more; this one must not replace it.
        }
    }

    // Best effort for a process that returns from Main or calls Environment.Exit without disposing: a server
    // left running would hold its port and folder until someone finds it. A signal (Ctrl+C, kill) ends the
    // process without running this, so a program that stops on Ctrl+C must cancel and dispose itself.
    private void RemoveAtProcessExit()
    {
        if (!_gate.Wait(0))
        {
            return;
        }

        try
        {
            if (!_disposed)
            {
                _disposed = true;
                StopAnyHowAsync("immediate").GetAwaiter().GetResult();
                ClusterFolder.Delete(RootDirectory);
            }
        }
        catch (EmbeddedPostgresException)
        {
            // The process is ending; there is no one left to tell.
        }
        finally
        {
            _gate.Release();
        }
    }

    private Task<ProcessResult> RunServerProgramAsync(string name, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var (fileName, wrapped) = _account.Wrap(PostgresBinaries.Program(BinDirectory, name), arguments);

        // The server's user may not be allowed into the caller's working folder; it owns RootDirectory.
        return ProcessRunner.RunAsync(fileName, wrapped, RootDirectory, _options.Timeout, cancellationToken);
    }

    private string TimeoutSeconds => Math.Ceiling(_options.Timeout.TotalSeconds).ToString(CultureInfo.InvariantCulture);

    private EmbeddedPostgresException StepFailed(string step, ProcessResult result, long? logStart)
    {
        var message = $"{step} failed (exit code {result.ExitCode}) for the throwaway cluster in {RootDirectory}: {result.Diagnostics}";
        if (logStart is { } from)
        {
            var log = ClusterFolder.ReadTail(LogPath, LogLinesInErrors, from);
            message += log.Length > 0 ? $"\n--- tail of {LogPath} ---\n{log}" : $"\n({LogPath} is empty.)";
        }

        return new EmbeddedPostgresException(message);
    }

    private static void CheckDatabaseName(string database)
    {
        ArgumentException.ThrowIfNullOrEmpty(database);
        if (database.Length > 63 || !DatabaseName().IsMatch(database))
        {
            throw new ArgumentException(
                $"'{database}' is not a plain database name (a letter or underscore, then letters, digits or underscores, at most 63).",
                nameof(database));
        }
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex DatabaseName();

    [GeneratedRegex("could not bind|Address already in use|could not create any TCP/IP sockets")]
    private static partial Regex PortTaken();
}
