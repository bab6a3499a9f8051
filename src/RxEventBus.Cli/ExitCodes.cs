namespace RxEventBus.Cli;

/// <summary>The process's exit codes (docs/cli.md lists them for users).</summary>
internal static class ExitCodes
{
    /// <summary>The job was done: for the demo, every published event is in the table.</summary>
    public const int Success = 0;

    /// <summary>
    /// The job failed: not every published event is in the table, the consumer faulted, the table does not match
    /// what the consumer writes, the database could not be reached or started, a query found nothing, or a dead
    /// letter named was not there or could not be replayed.
    /// </summary>
    public const int Failure = 1;

    /// <summary>The command line or an EB_PG_* variable is wrong; nothing was started.</summary>
    public const int Usage = 2;

    /// <summary>Stopped by Ctrl+C (SIGINT) after flushing what was accepted: 128 + 2, as shells report it.</summary>
    public const int Interrupted = 130;

    /// <summary>Stopped by SIGTERM after flushing what was accepted: 128 + 15.</summary>
    public const int Terminated = 143;

    /// <summary>Stopped by SIGHUP (the terminal went away) after flushing: 128 + 1.</summary>
    public const int HangUp = 129;
}
