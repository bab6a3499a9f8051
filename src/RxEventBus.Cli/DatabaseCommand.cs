using System.CommandLine;
using Npgsql;
using RxEventBus.Postgres;

namespace RxEventBus.Cli;

/// <summary>
/// A command over a database that already holds the consumer's tables (<c>query</c>, <c>dead-letters</c>): its
/// flags <c>--database-url</c>, <c>--schema</c>, <c>--table</c> and <c>--json</c>, which may come before or after
/// the subcommand, and the running of a subcommand against that database.
/// </summary>
internal sealed class DatabaseCommand
{
    private readonly CliContext _context;
    private readonly PersistenceFlags _flags;
    private readonly Option<bool>? _json;

    /// <param name="context">Where the subcommands write.</param>
    /// <param name="name">The command, e.g. <c>query</c>.</param>
    /// <param name="description">Its help text.</param>
    /// <param name="json">The help text of its --json flag; null for a command without one (<c>dashboard</c>).</param>
    public DatabaseCommand(CliContext context, string name, string description, string? json)
    {
        _context = context;
        _flags = PersistenceFlags.ForQuery();
        _json = json is null ? null : new Option<bool>("--json") { Description = json, Recursive = true };
        Command = new Command(name, description);
        foreach (var flag in _flags.All)
        {
            // Recursive: `query --schema s count` and `query count --schema s` both work.
            flag.Option.Recursive = true;
        }

        _flags.AddTo(Command);
        if (_json is not null)
        {
            Command.Add(_json);
        }
    }

    public Command Command { get; }

    /// <summary>Whether --json was given.</summary>
    public bool Json(ParseResult parse) => _json is not null && parse.GetValue(_json);

    /// <summary>
    /// Runs <paramref name="body"/> on the database the flags (or the EB_PG_* variables) name, reporting what it
    /// throws as <see cref="CommandRunner"/> does.
    /// </summary>
    /// <param name="parse">The parsed command line.</param>
    /// <param name="subcommand">The subcommand's name, for messages (<c>count</c>); null for a command without
    /// subcommands (<c>tail</c>).</param>
    /// <param name="body">The subcommand.</param>
    /// <param name="missingTable">What a table that does not exist means here (<see cref="CommandRunner.RunAsync"/>).</param>
    public Task<int> RunAsync(ParseResult parse, string? subcommand, Func<DatabaseSession, Task<int>> body, string? missingTable = null)
    {
        var databaseUrl = OptionBinding.ValueOf(parse, _flags.DatabaseUrl, _context.Environment);
        return CommandRunner.RunAsync(
            _context,
            subcommand is null ? Command.Name : $"{Command.Name} {subcommand}",
            databaseUrl,
            async () =>
            {
                if (databaseUrl is null)
                {
                    throw new CliUsageException(
                        "a database is needed: give --database-url postgres://user:password@host:port/database (or set EB_PG_DATABASE_URL). " +
                        "To reach the demo's throwaway PostgreSQL, run the demo with --keep: it prints the URL to use.");
                }

                // Every EB_PG_* variable is read and checked as the library reads it (EB_PG_DEFAULT_TTL_IN_MS for a replay).
                var options = OptionBinding.Bind(parse, _flags.All, _context.Environment, new Dictionary<string, string>());
                await using var dataSource = NpgsqlDataSource.Create(options.ConnectionString);
                return await body(new DatabaseSession(options, dataSource, options.ToEventTable(), _context.Stop.Stopping));
            },
            missingTable);
    }
}

/// <summary>What a subcommand of a <see cref="DatabaseCommand"/> runs on.</summary>
/// <param name="Options">The settings, from the flags and the EB_PG_* variables.</param>
/// <param name="DataSource">The database; disposed when the subcommand returns.</param>
/// <param name="Table">The events table.</param>
/// <param name="Stopping">Ctrl+C.</param>
internal sealed record DatabaseSession(PostgresPersistenceOptions Options, NpgsqlDataSource DataSource, EventTable Table, CancellationToken Stopping);
