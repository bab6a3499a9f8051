using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using RxEventBus.Postgres;

namespace RxEventBus.Cli;

/// <summary>
/// <c>rxeventbus dashboard</c>: serves the stored-events half of the dashboard (counts, search, detail, the live
/// tail, dead letters) for any database, from a bus of its own with no topics — so the live view of a bus shows an
/// empty one. Read-only unless <c>--enable-actions</c>; loopback only unless <c>--allow-remote</c>.
/// </summary>
internal static class DashboardCommand
{
    public static Command Create(CliContext context)
    {
        var shared = new DatabaseCommand(
            context,
            "dashboard",
            "Serve the dashboard's stored events, live tail and dead letters of the events table over HTTP, on loopback " +
            $"only by default ({DashboardServer.DefaultUrls}), read-only, until Ctrl+C. Prints the page's URL. Needs " +
            "--database-url (or EB_PG_DATABASE_URL).",
            json: null);
        var urls = new Option<string>("--urls")
        {
            HelpName = "URL;…",
            Description = $"Where to listen, separated by ';'. A host that is not loopback needs --allow-remote; port 0 picks a free port. Default: {DashboardServer.DefaultUrls}.",
        };
        var allowRemote = new Option<bool>("--allow-remote")
        {
            Description = "Allow --urls on a host that is not loopback. The dashboard has no authentication of its own: anyone who reaches the port sees the stored events.",
        };
        var enableActions = new Option<bool>("--enable-actions")
        {
            Description = "Serve the dead-letter actions (replay, purge) on the page. Default: off (read-only).",
        };
        shared.Command.Add(urls);
        shared.Command.Add(allowRemote);
        shared.Command.Add(enableActions);

        // Checked while parsing, so a URL beyond loopback is a usage error before anything connects or listens.
        shared.Command.Validators.Add(result =>
        {
            try
            {
                DashboardServer.CheckUrls(result.GetValue(urls) ?? DashboardServer.DefaultUrls, result.GetValue(allowRemote));
            }
            catch (CliUsageException e)
            {
                result.AddError(e.Message);
            }
        });

        shared.Command.SetAction((parse, _) => shared.RunAsync(
            parse,
            subcommand: null,
            session => ServeAsync(
                context,
                session,
                DashboardServer.CheckUrls(parse.GetValue(urls) ?? DashboardServer.DefaultUrls, parse.GetValue(allowRemote)),
                parse.GetValue(allowRemote),
                parse.GetValue(enableActions))));
        return shared.Command;
    }

    private static async Task<int> ServeAsync(
        CliContext context, DatabaseSession session, IReadOnlyList<string> urls, bool allowRemote, bool enableActions)
    {
        var table = session.Table;
        var name = $"{table.Schema}.{table.Table}";

        // Reach the database before listening: a wrong password or host ends the command here (exit code 1), not on the page.
        if (!await ExistsAsync(session.DataSource, table.QualifiedName, session.Stopping))
        {
            await context.Error.WriteLineAsync(
                $"rxeventbus dashboard: the table {name} does not exist (yet): the page shows no stored events until a consumer " +
                "or the demo creates it. Give --schema/--table for another one.");
        }

        if (enableActions)
        {
            await context.Error.WriteLineAsync(
                $"rxeventbus dashboard: WARNING: ACTIONS ARE ON (--enable-actions): whoever reaches the page can replay and purge the dead letters of {name}.");
        }

        using var bus = new EventBus(new EventBusOptions());
        var store = new EventStore(session.DataSource, table, session.Options.Serializer, bus.Scheduler);
        var deadLetters = new DeadLetterStore(session.DataSource, table, bus.Scheduler);
        await using (var server = await DashboardServer.StartAsync(
            urls,
            allowRemote,
            enableActions,
            services => services
                .AddSingleton(bus)
                .AddSingleton(session.DataSource)
                .AddSingleton(session.Options)
                .AddSingleton(store)
                .AddSingleton(deadLetters),
            context.Error,
            "rxeventbus dashboard",
            session.Stopping))
        {
            await context.Out.WriteLineAsync($"Dashboard: {server.Url}");
            await context.Out.FlushAsync();
            await context.Error.WriteLineAsync(
                $"rxeventbus dashboard: serving table {name} ({(enableActions ? "actions on" : "read-only")}); press Ctrl+C to stop.");
            await StopSignal.UntilStoppedAsync(session.Stopping); // Ctrl+C or SIGTERM: the normal end of a server.
        }

        await context.Error.WriteLineAsync("rxeventbus dashboard: stopped.");
        return ExitCodes.Success;
    }

    private static async Task<bool> ExistsAsync(NpgsqlDataSource dataSource, string qualifiedName, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT to_regclass(@name) IS NOT NULL");
        command.Parameters.AddWithValue("name", qualifiedName);
        return await command.ExecuteScalarAsync(cancellationToken) is true;
    }
}
