using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;
using RxEventBus.Postgres;

namespace RxEventBus.Cli;

/// <summary>
/// The <c>rxeventbus</c> command line: <c>demo</c>, <c>query</c>, <c>dead-letters</c>, <c>tail</c> and <c>dashboard</c>. Runs in-process on a
/// <see cref="CliContext"/>, which is how the tests call it.
/// </summary>
internal static class CliApp
{
    /// <summary>Parses <paramref name="args"/> and runs the command.</summary>
    /// <returns>The process's exit code (<see cref="ExitCodes"/>).</returns>
    public static async Task<int> RunAsync(string[] args, CliContext context)
    {
        // A plain command rather than a RootCommand, whose name is the executable's: that is RxEventBus.Cli
        // under `dotnet run`, while help and errors should show the command people type.
        var root = new Command(
            "rxeventbus",
            "Publish events on an in-process Rx event bus and persist every one of them to PostgreSQL.")
        {
            new HelpOption(),
            new VersionOption(),
            DemoCommand.Create(context),
            QueryCommand.Create(context),
            DeadLettersCommand.Create(context),
            TailCommand.Create(context),
            DashboardCommand.Create(context),
        };

        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors)
            {
                await context.Error.WriteLineAsync($"rxeventbus: {Scrub(error.Message, args)}");
            }

            await context.Error.WriteLineAsync($"Run 'rxeventbus {CommandPath(parse.CommandResult, root)}--help' for the commands and flags.");
            return ExitCodes.Usage;
        }

        return await parse.InvokeAsync(new InvocationConfiguration
        {
            Output = context.Out,
            Error = context.Error,
            // The commands handle Ctrl+C themselves (StopSignal): flush, remove the cluster, print the summary.
            // System.CommandLine's own handling would end the process two seconds after the signal.
            ProcessTerminationTimeout = null,
            EnableDefaultExceptionHandler = false,
        });
    }

    // "dead-letters replay ", for a subcommand's help: its own name alone would be no command at all.
    private static string CommandPath(CommandResult result, Command root)
    {
        var path = "";
        for (SymbolResult? at = result; at is CommandResult { Command: var command } && command != root; at = at.Parent)
        {
            path = command.Name + " " + path;
        }

        return path;
    }

    // A parse error quotes the token it could not place, which may be a URL with a password in it (a forgotten
    // --database-url): such a token is shown redacted.
    private static string Scrub(string message, string[] args)
    {
        foreach (var arg in args)
        {
            if (arg.Contains("://", StringComparison.Ordinal) || arg.Contains("password", StringComparison.OrdinalIgnoreCase))
            {
                message = message.Replace(arg, DatabaseUrl.Redact(arg), StringComparison.Ordinal);
            }
        }

        return message;
    }
}
