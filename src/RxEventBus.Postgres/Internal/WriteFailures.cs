using Npgsql;

namespace RxEventBus.Postgres.Internal;

// What a failed write means, and so what the consumer does about it. Only what can get better is retried
// as a matter of course; what only a person can fix is retried too (the batch is kept), but loudly.
internal enum FailureKind
{
    // Ids already stored (a retry after an ambiguous commit, a republished event): rewrite idempotently.
    Duplicate,

    // The server refuses a row's values (data exception, integrity violation, a program limit): no retry
    // can succeed for that row, but the rest of its batch may commit.
    RowRefused,

    // The connection dropped, the server is starting or shutting down, a deadlock, too many connections:
    // Npgsql knows these (NpgsqlException.IsTransient) and a retry will likely succeed.
    Transient,

    // Anything else: a missing table or column, a revoked grant, a read-only database, an unknown failure.
    // Retried with backoff, because data must not be lost, while the consumer reports itself degraded.
    NeedsAttention,
}

internal static class WriteFailures
{
    internal static FailureKind Classify(Exception error) => error switch
    {
        PostgresException { SqlState: PostgresErrorCodes.UniqueViolation } => FailureKind.Duplicate,
        PostgresException postgres when IsRowRefused(postgres.SqlState) => FailureKind.RowRefused,
        NpgsqlException { IsTransient: true } => FailureKind.Transient,
        TimeoutException => FailureKind.Transient,
        _ => FailureKind.NeedsAttention,
    };

    // Low cardinality, as OpenTelemetry's error.type and the dead-letter table's error_type ask: the SQLSTATE
    // for a server error, else the exception's type.
    internal static string ErrorType(Exception error) =>
        error is PostgresException postgres ? postgres.SqlState : error.GetType().FullName ?? error.GetType().Name;

    // SQLSTATE classes (the first two characters): 22 data exception, 23 integrity constraint violation
    // (a duplicate id excepted, classified above), 54 program limit exceeded (an oversized value).
    private static bool IsRowRefused(string sqlState) =>
        InClass(sqlState, PostgresErrorCodes.DataException) ||
        InClass(sqlState, PostgresErrorCodes.IntegrityConstraintViolation) ||
        InClass(sqlState, PostgresErrorCodes.ProgramLimitExceeded);

    private static bool InClass(string sqlState, string classCode) =>
        sqlState.Length == 5 && string.CompareOrdinal(sqlState, 0, classCode, 0, 2) == 0;
}
