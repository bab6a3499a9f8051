namespace RxEventBus.Postgres.Embedded;

/// <summary>
/// Thrown when a throwaway PostgreSQL cluster cannot be found, created, started or stopped. The message says
/// what failed and what to do about it: how to install the binaries, which OS user is missing, or the tail of
/// the server's log when the server refused to start.
/// </summary>
public sealed class EmbeddedPostgresException : Exception
{
    /// <summary>Creates the exception.</summary>
    public EmbeddedPostgresException()
        : base("The throwaway PostgreSQL cluster failed.")
    {
    }

    /// <summary>Creates the exception with a message saying what failed and what to do.</summary>
    public EmbeddedPostgresException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public EmbeddedPostgresException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
