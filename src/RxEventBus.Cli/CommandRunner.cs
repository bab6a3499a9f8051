using Npgsql;
using RxEventBus.Postgres;
using RxEventBus.Postgres.Embedded;

namespace RxEventBus.Cli;

/// <summary>
/// Runs a command's body and turns what it throws into one line on standard error and an exit code: 2 for a
/// bad flag or variable, 1 for a failure, the signal's code for a stop. Never a stack trace (unless
/// RXEB_CLI_DEBUG is set), and never the database password.
/// </summary>
internal static class CommandRunner
{
    public const string DebugVariable = "RXEB_CLI_DEBUG";

    /// <param name="context">Where to report.</param>
    /// <param name="command">The command's name, for the messages.</param>
    /// <param name="databaseUrl">The raw database URL the user gave (flag or environment), whose password is
    /// scrubbed from every message; null when none was given.</param>
    /// <param name="body">The command.</param>
    /// <param name="missingTable">Follows PostgreSQL's "relation … does not exist" to say what that means for this
    /// command; null for the events table's meaning (nothing was persisted there yet).</param>
    public static async Task<int> RunAsync(CliContext context, string command, string? databaseUrl, Func<Task<int>> body, string? missingTable = null)
    {
        try
        {
            return await body();
        }
        catch (CliUsageException e)
        {
            return Report(context, command, e, e.Message, ExitCodes.Usage, databaseUrl);
        }
        catch (OperationCanceledException e) when (context.Stop.IsRequested)
        {
            return Report(context, command, e, "stopped by a signal before the run could finish.", context.Stop.ExitCode, databaseUrl);
        }
        catch (EmbeddedPostgresException e)
        {
            return Report(
                context, command, e,
                $"could not start a throwaway PostgreSQL: {e.Message}\nOr point the demo at a database: --database-url postgres://user:password@host:5432/database",
                ExitCodes.Failure, databaseUrl);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedTable)
        {
            return Report(
                context, command, e,
                $"{e.MessageText}: {missingTable ?? "nothing was persisted in that table yet (run the demo against this database first, or give --schema/--table)."}",
                ExitCodes.Failure, databaseUrl);
        }
        catch (SchemaMismatchException e)
        {
            return Report(context, command, e, Describe(e), ExitCodes.Failure, databaseUrl);
        }
        catch (NpgsqlException e)
        {
            return Report(context, command, e, $"the database failed: {e.Message}", ExitCodes.Failure, databaseUrl);
        }
        catch (Exception e)
        {
            return Report(context, command, e, $"{e.GetType().Name}: {e.Message}", ExitCodes.Failure, databaseUrl);
        }
    }

    /// <summary>
    /// A table the consumer cannot write to, in words for a terminal: the table, then one line per difference,
    /// then what to do — the library's own message without the exception's type name in front of it.
    /// </summary>
    public static string Describe(SchemaMismatchException e)
    {
        // The message is the table's line, one "- difference" line each, then the remedy (SchemaMismatchException's
        // constructor says so); the remedy is taken from it rather than written again here, because it differs
        // between a table to migrate and one to create. Should that layout ever change, the message is printed as it is.
        var lines = e.Message.Split('\n');
        var laidOut = e.Differences.Count > 0 && lines.Length > e.Differences.Count &&
            e.Differences.Select((difference, i) => lines[i + 1] == "- " + difference).All(static same => same);
        if (!laidOut)
        {
            return e.Message;
        }

        return $"the table {e.Table} does not match what the consumer writes, and nothing was changed:\n" +
            string.Concat(e.Differences.Select(static d => $"  - {d}\n")) +
            string.Join('\n', lines.Skip(1 + e.Differences.Count)).Replace("EB_PG_TABLE", "--table (EB_PG_TABLE)", StringComparison.Ordinal);
    }

    /// <summary>The password in <paramref name="databaseUrl"/>, if it can be read.</summary>
    public static string? PasswordOf(string? databaseUrl)
    {
        if (string.IsNullOrWhiteSpace(databaseUrl))
        {
            return null;
        }

        try
        {
            var password = new NpgsqlConnectionStringBuilder(DatabaseUrl.ToConnectionString(databaseUrl)).Password;
            return string.IsNullOrEmpty(password) ? null : password;
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    private static int Report(CliContext context, string command, Exception e, string message, int exitCode, string? databaseUrl)
    {
        var text = $"rxeventbus {command}: {message}";
        if (!string.IsNullOrWhiteSpace(context.Environment(DebugVariable)))
        {
            text += Environment.NewLine + e;
        }

        // The library and Npgsql keep passwords out of their messages; this is the belt to their braces.
        if (PasswordOf(databaseUrl) is { } password)
        {
            text = text.Replace(password, "***", StringComparison.Ordinal);
        }

        context.Error.WriteLine(text);
        return exitCode;
    }
}
