using System.Globalization;

namespace RxEventBus.Postgres.Embedded.Internal;

/// <summary>Finds the folder holding PostgreSQL's server programs.</summary>
internal static class PostgresBinaries
{
    private const string DebianRoot = "/usr/lib/postgresql";

    private static readonly string[] RequiredPrograms = ["initdb", "pg_ctl", "postgres"];

    /// <summary>
    /// The configured folder if any (no fallback: a folder named on purpose is the only one wanted), else
    /// <c>RXEB_PG_BIN</c>, else the folder of the <c>initdb</c> on <c>PATH</c>, else the highest
    /// <c>/usr/lib/postgresql/*/bin</c>.
    /// </summary>
    public static string Locate(string? configured)
    {
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return Check(configured, "EmbeddedPostgresOptions.BinDirectory");
        }

        var fromEnvironment = Environment.GetEnvironmentVariable(EmbeddedPostgresOptions.BinDirectoryEnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            return Check(fromEnvironment, $"the {EmbeddedPostgresOptions.BinDirectoryEnvironmentVariable} environment variable");
        }

        return FromPath() ?? FromDebianLayout() ?? throw NotFound(
            $"on PATH or under {DebianRoot}/*/bin, and {EmbeddedPostgresOptions.BinDirectoryEnvironmentVariable} is not set");
    }

    public static string Program(string binDirectory, string name) => Path.Combine(binDirectory, name);

    private static string Check(string directory, string source)
    {
        var full = Path.GetFullPath(directory);
        var missing = RequiredPrograms.Where(name => !File.Exists(Program(full, name))).ToList();
        return missing.Count == 0
            ? full
            : throw NotFound($"in {full} (from {source}; missing: {string.Join(", ", missing)})");
    }

    private static string? FromPath()
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        foreach (var entry in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var initdb = Program(entry, "initdb");
            if (!File.Exists(initdb))
            {
                continue;
            }

            // Debian links initdb into PATH from /usr/lib/postgresql/N/bin; postgres lives beside the target only.
            var target = File.ResolveLinkTarget(initdb, returnFinalTarget: true)?.FullName ?? Path.GetFullPath(initdb);
            var directory = Path.GetDirectoryName(target);
            if (directory is not null && RequiredPrograms.All(name => File.Exists(Program(directory, name))))
            {
                return directory;
            }
        }

        return null;
    }

    private static string? FromDebianLayout()
    {
        if (!Directory.Exists(DebianRoot))
        {
            return null;
        }

        return Directory.EnumerateDirectories(DebianRoot)
            .Select(static d => (Directory: Path.Combine(d, "bin"), Version: ParseVersion(Path.GetFileName(d))))
            .Where(static c => c.Version is not null && RequiredPrograms.All(name => File.Exists(Program(c.Directory, name))))
            .OrderByDescending(static c => c.Version)
            .Select(static c => c.Directory)
            .FirstOrDefault();
    }

    // Folder names are major versions: "15", "16", or "9.6" before PostgreSQL 10.
    private static decimal? ParseVersion(string name) =>
        decimal.TryParse(name, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var version) ? version : null;

    private static EmbeddedPostgresException NotFound(string where) => new(
        $"PostgreSQL's server programs (initdb, pg_ctl, postgres) were not found {where}. " +
        "Install them — Debian/Ubuntu: `apt-get install postgresql`; Fedora/RHEL: `dnf install postgresql-server`; " +
        "macOS: `brew install postgresql` — or set " + EmbeddedPostgresOptions.BinDirectoryEnvironmentVariable +
        " to the folder that holds initdb and pg_ctl (for example /usr/lib/postgresql/15/bin).");
}
