namespace RxEventBus.Postgres.Embedded.Internal;

/// <summary>
/// Who runs the server's programs. initdb and postgres refuse to run as root (a server bug would then own
/// the machine), and CI runs as root: there they run as another OS user through <c>runuser</c>, in a folder
/// that user owns.
/// </summary>
internal sealed class ServerAccount
{
    private static readonly string[] RunuserCandidates = ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser", "/bin/runuser"];

    private readonly string? _runuser;

    private ServerAccount(string? userName, string? runuser)
    {
        UserName = userName;
        _runuser = runuser;
    }

    /// <summary>The OS user the server runs as when it is not the current one; null otherwise.</summary>
    public string? UserName { get; }

    public static async Task<ServerAccount> ResolveAsync(string userName, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (!Environment.IsPrivilegedProcess)
        {
            return new ServerAccount(null, null);
        }

        var runuser = RunuserCandidates.FirstOrDefault(File.Exists) ?? throw new EmbeddedPostgresException(
            $"This process runs as root, and PostgreSQL refuses to run as root, so the server must run as the OS user " +
            $"'{userName}' through runuser, which was not found. Install it (Debian/Ubuntu: `apt-get install util-linux`) " +
            "or run as a non-root user.");

        // Switching to the user and back proves both that it exists and that runuser works here.
        var probe = await ProcessRunner.RunAsync(runuser, ["-u", userName, "--", "id", "-u"], "/", timeout, cancellationToken)
            .ConfigureAwait(false);
        if (!probe.Succeeded)
        {
            throw new EmbeddedPostgresException(
                $"This process runs as root, and PostgreSQL refuses to run as root, so the server must run as the OS user " +
                $"'{userName}', which could not be used: {probe.Diagnostics}. Create it (Debian/Ubuntu: " +
                "`apt-get install postgresql` creates 'postgres'; elsewhere `useradd --system --user-group postgres`), " +
                "set EmbeddedPostgresOptions.ServerUser to another non-root user, or run as a non-root user.");
        }

        return new ServerAccount(userName, runuser);
    }

    /// <summary>The command line that runs <paramref name="program"/> as this account.</summary>
    public (string FileName, IReadOnlyList<string> Arguments) Wrap(string program, IReadOnlyList<string> arguments) =>
        _runuser is null || UserName is null
            ? (program, arguments)
            : (_runuser, ["-u", UserName, "--", program, .. arguments]);

    /// <summary>Gives the account a folder made by the current user, so the server can write there.</summary>
    public async Task TakeOwnershipAsync(string directory, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (UserName is null)
        {
            return;
        }

        // "user:" is the user with its login group.
        var result = await ProcessRunner.RunAsync("chown", ["-R", $"{UserName}:", directory], "/", timeout, cancellationToken)
            .ConfigureAwait(false);
        if (!result.Succeeded)
        {
            throw new EmbeddedPostgresException($"Could not hand {directory} to the OS user '{UserName}': {result.Diagnostics}");
        }
    }
}
