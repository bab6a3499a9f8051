namespace RxEventBus.Cli;

/// <summary>
/// A flag or an EB_PG_* variable has a value the command cannot use. Reported as one line naming the flag (or
/// the variable) and exit code 2, never with a stack trace; its message never holds a database password.
/// </summary>
internal sealed class CliUsageException : Exception
{
    public CliUsageException(string message)
        : base(message)
    {
    }

    public CliUsageException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public CliUsageException()
    {
    }
}
