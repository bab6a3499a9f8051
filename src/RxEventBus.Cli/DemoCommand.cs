using System.CommandLine;
using System.Globalization;

namespace RxEventBus.Cli;

/// <summary>
/// <c>rxeventbus demo</c>: the whole path, end to end. Publishes --events fake events through
/// <c>EventSource.Notify</c> and persists every one of them with the PostgreSQL consumer, to the database
/// given or to a throwaway local cluster; shows progress, then a summary checked against the table.
/// </summary>
internal static class DemoCommand
{
    public const long DefaultEvents = 100_000;

    /// <summary>
    /// The demo's own defaults, weaker than the flags and the EB_PG_* variables. The demo publishes as fast as it
    /// can; bigger batches than the library's 5,000 spread each COPY's round trip and commit over more rows, and a
    /// second writer overlaps one batch's commit with the next one's COPY (docs/cli.md has the measurements).
    /// Memory stays bounded: at most the buffer plus one batch per writer and the one being filled, about 50,000
    /// small events.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> Defaults = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["EB_PG_BATCH_SIZE"] = "10000",
        ["EB_PG_BUFFER_SIZE"] = "20000",
        ["EB_PG_POOL_SIZE"] = "2",
    };

    public static Command Create(CliContext context)
    {
        var flags = PersistenceFlags.ForDemo(Defaults);
        var events = new Option<string>("--events")
        {
            HelpName = "N",
            Description = string.Create(CultureInfo.InvariantCulture, $"Events to publish. Default: {DefaultEvents}."),
        };
        events.Validators.Add(result =>
        {
            if (result.Tokens.Count == 1 && ParseEvents(result.Tokens[0].Value) is null)
            {
                result.AddError($"--events must be a positive whole number (e.g. {DefaultEvents}), but is '{result.Tokens[0].Value}'.");
            }
        });
        var json = new Option<bool>("--json")
        {
            Description = "Print the summary as one JSON object on standard output, and nothing else there (progress and notes go to standard error).",
        };
        var keep = new Option<bool>("--keep")
        {
            Description = "Leave the throwaway PostgreSQL running at the end and print its connection string (not with --database-url).",
        };

        var dashboard = new Option<bool>("--dashboard")
        {
            Description = "Serve the dashboard (the live bus and consumer, the stored events) while the demo runs, print its URL " +
                "first, and keep serving after the summary until Ctrl+C. Read-only; loopback only.",
        };
        var urls = new Option<string>("--urls")
        {
            HelpName = "URL;…",
            Description = $"With --dashboard: where to listen, on loopback (127.0.0.1, ::1, localhost); port 0 picks a free port. Default: {DashboardServer.DefaultUrls}.",
        };

        var command = new Command(
            "demo",
            "Publish events on the bus and persist every one of them to PostgreSQL, then check the table. Without " +
            "--database-url (or EB_PG_DATABASE_URL) it starts a throwaway local PostgreSQL and removes it at the end. " +
            "Exit code 0 only if every published event is in the table.")
        {
            events,
        };
        flags.AddTo(command);
        command.Add(json);
        command.Add(keep);
        command.Add(dashboard);
        command.Add(urls);
        command.Validators.Add(result =>
        {
            if (result.GetValue(urls) is not { } given)
            {
                return;
            }

            if (!result.GetValue(dashboard))
            {
                result.AddError("--urls says where the demo's dashboard listens: give --dashboard too.");
                return;
            }

            try
            {
                // The demo's dashboard is loopback only: `rxeventbus dashboard --allow-remote` serves a table further.
                DashboardServer.CheckUrls(given, allowRemote: false);
            }
            catch (CliUsageException e)
            {
                result.AddError(e.Message);
            }
        });

        command.SetAction((parse, _) =>
        {
            var databaseUrl = OptionBinding.ValueOf(parse, flags.DatabaseUrl, context.Environment);
            var request = new DemoRequest(
                parse,
                flags,
                databaseUrl,
                parse.GetValue(events) is { } count ? ParseEvents(count)!.Value : DefaultEvents,
                parse.GetValue(json),
                parse.GetValue(keep),
                parse.GetValue(dashboard) ? DashboardServer.CheckUrls(parse.GetValue(urls) ?? DashboardServer.DefaultUrls, allowRemote: false) : null);
            return CommandRunner.RunAsync(context, "demo", databaseUrl, () => new DemoRun(context, request).RunAsync());
        });
        return command;
    }

    private static long? ParseEvents(string value) =>
        long.TryParse(value.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var count) && count > 0 ? count : null;
}

/// <summary>A demo run's command line, parsed.</summary>
/// <param name="Parse">The parsed command line, for the flags that mirror EB_PG_* variables.</param>
/// <param name="Flags">Those flags.</param>
/// <param name="DatabaseUrl">The database as the user gave it (flag or variable); null for a throwaway cluster.</param>
/// <param name="Events">How many events to publish.</param>
/// <param name="Json">Whether the summary is JSON.</param>
/// <param name="Keep">Whether the throwaway cluster is kept.</param>
/// <param name="DashboardUrls">Where the dashboard listens (--dashboard); null without one.</param>
internal sealed record DemoRequest(
    ParseResult Parse, PersistenceFlags Flags, string? DatabaseUrl, long Events, bool Json, bool Keep, IReadOnlyList<string>? DashboardUrls = null);
