using System.Text;
using System.Text.RegularExpressions;

namespace RxEventBus.Postgres.Embedded;

/// <summary>
/// Settings of a throwaway cluster started by <see cref="EmbeddedPostgres.StartAsync(EmbeddedPostgresOptions?, CancellationToken)"/>.
/// Every default works on a machine that has PostgreSQL's server package installed.
/// </summary>
public sealed partial class EmbeddedPostgresOptions
{
    /// <summary>The environment variable read for <see cref="BinDirectory"/> when that option is null.</summary>
    public const string BinDirectoryEnvironmentVariable = "RXEB_PG_BIN";

    // sun_path is 108 bytes on Linux and 104 on macOS, the terminating NUL included; PostgreSQL refuses a
    // longer socket path, so the folder name is checked here instead of failing inside the server's log.
    private const int MaxSocketPathBytes = 103;

    /// <summary>
    /// Folder holding <c>initdb</c>, <c>pg_ctl</c> and <c>postgres</c>. Default: null, which means the
    /// <c>RXEB_PG_BIN</c> environment variable if set, else the folder of the <c>initdb</c> found on
    /// <c>PATH</c> (symlinks followed), else the highest <c>/usr/lib/postgresql/*/bin</c> (Debian's layout).
    /// When set, only this folder is looked at.
    /// </summary>
    public string? BinDirectory { get; init; }

    /// <summary>
    /// Folder in which the cluster's own folder (<c>rxeb-XXXXXX</c>) is made. Default: null, which means
    /// <c>/tmp</c>: short enough for the unix socket path limit, and reachable by the <c>postgres</c> OS user
    /// when running as root (a <c>TMPDIR</c> under <c>/root</c> would not be).
    /// </summary>
    public string? TempDirectory { get; init; }

    /// <summary>
    /// Loopback TCP port to listen on. Default: 0, which picks a free port (and another one if that port is
    /// taken before the server binds it).
    /// </summary>
    public int Port { get; init; }

    /// <summary>
    /// When true, disposing leaves the server running and its folder on disk, so its connection string stays
    /// usable (stop it with <c>pg_ctl -D &lt;DataDirectory&gt; stop</c>, run as <see cref="EmbeddedPostgres.ServerUser"/>
    /// when that is set, then delete <see cref="EmbeddedPostgres.RootDirectory"/>). A cluster that fails to
    /// start is also left on disk, for its log. Default: false — dispose stops the server and deletes the folder.
    /// </summary>
    public bool Keep { get; init; }

    /// <summary>
    /// The OS user that runs the server when this process runs as root, since <c>initdb</c> and
    /// <c>postgres</c> refuse to run as root. Ignored when not root. Default: <c>postgres</c>, which Debian's
    /// <c>postgresql</c> package creates.
    /// </summary>
    public string ServerUser { get; init; } = "postgres";

    /// <summary>
    /// Extra server settings written to <c>postgresql.conf</c> (for example <c>max_connections</c>), after
    /// and so over the launcher's own: <c>fsync = off</c> and <c>full_page_writes = off</c> for speed.
    /// <c>synchronous_commit</c> keeps PostgreSQL's default (on), so a commit that returned has reached the
    /// WAL and survives a server crash (<c>pg_ctl stop -m immediate</c>). Default: none.
    /// </summary>
    public IReadOnlyDictionary<string, string> ServerSettings { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// Longest time one step (<c>initdb</c>, starting, stopping) may take before it is abandoned and the
    /// process killed. Default: 60 seconds.
    /// </summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);

    internal string ResolvedTempDirectory => TempDirectory ?? "/tmp";

    internal void Validate()
    {
        if (Port is < 0 or > 65535)
        {
            throw new ArgumentException($"EmbeddedPostgresOptions.Port must be 0 (pick a free port) or a TCP port, not {Port}.", "options");
        }

        if (string.IsNullOrWhiteSpace(ServerUser))
        {
            throw new ArgumentException("EmbeddedPostgresOptions.ServerUser must name an OS user.", "options");
        }

        if (ServerSettings is null)
        {
            throw new ArgumentException("EmbeddedPostgresOptions.ServerSettings must not be null (use an empty dictionary).", "options");
        }

        foreach (var (name, value) in ServerSettings)
        {
            if (!SettingName().IsMatch(name) || value is null || value.Contains('\n', StringComparison.Ordinal))
            {
                throw new ArgumentException($"EmbeddedPostgresOptions.ServerSettings has an invalid setting '{name}'.", "options");
            }
        }

        if (Timeout <= TimeSpan.Zero || Timeout > TimeSpan.FromDays(1))
        {
            throw new ArgumentException($"EmbeddedPostgresOptions.Timeout must be positive and at most a day, not {Timeout}.", "options");
        }

        var socketPath = Path.Combine(Path.GetFullPath(ResolvedTempDirectory), "rxeb-XXXXXX", ".s.PGSQL.65535");
        if (Encoding.UTF8.GetByteCount(socketPath) > MaxSocketPathBytes)
        {
            throw new ArgumentException(
                $"EmbeddedPostgresOptions.TempDirectory '{ResolvedTempDirectory}' is too long: the server's unix socket " +
                $"path ({socketPath}) must stay under {MaxSocketPathBytes + 1} bytes. Use a short folder such as /tmp.",
                "options");
        }
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_.]*$")]
    private static partial Regex SettingName();
}
