using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Text.RegularExpressions;

namespace RxEventBus.Cli;

/// <summary>
/// <c>rxeventbus tail</c>: follows the events table from any process, as a named or anonymous subscription —
/// the stored events from a checkpoint or from the beginning or the end, then the new ones as they commit. Each
/// flag is checked while the command line is parsed, so a bad value is a usage error (exit code 2) before any
/// connection is made; <see cref="TailRun"/> does the following.
/// </summary>
internal static class TailCommand
{
    /// <summary>Where a subscription starts when its name has no checkpoint (or it has no name).</summary>
    public const string DefaultFrom = "end";

    // Follows PostgreSQL's `relation "…" does not exist`: the events table, or the checkpoint table beside it that
    // the schema manager creates with it.
    private const string MissingTable =
        "the events table, or the subscriptions table beside it, is not there. Run the demo, or start the consumer, on " +
        "it once to create what is missing (EB_PG_ENSURE_SCHEMA, on by default), run docs/schema.sql, or give --schema/--table.";

    public static Command Create(CliContext context)
    {
        var shared = new DatabaseCommand(
            context,
            "tail",
            "Follow the events table: print the stored events from a checkpoint (--subscription), the beginning or the " +
            "end, then every new one as it commits, in the table's commit-safe order, until Ctrl+C or --count events. " +
            "Needs --database-url (or EB_PG_DATABASE_URL). Events go to standard output, one per line; notices (the " +
            "start position, standby, live, reconnecting) to standard error.",
            "Print each event as one JSON object per line: position, id, topic, transaction_id, initialized_at, " +
            "occurred_at, source, ttl_seconds, data.");
        var topics = TopicsOption();
        var subscription = SubscriptionOption();
        var from = FromOption();
        var count = CountOption();
        shared.Command.Add(topics);
        shared.Command.Add(subscription);
        shared.Command.Add(from);
        shared.Command.Add(count);

        shared.Command.SetAction((parse, _) => shared.RunAsync(
            parse,
            subcommand: null,
            session => new TailRun(context, session, new TailRequest(
                Topics(parse.GetValue(topics)),
                parse.GetValue(subscription)?.Trim(),
                IsBeginning(parse.GetValue(from) ?? DefaultFrom),
                parse.GetValue(count) is { } n ? ParseCount(n) : null,
                shared.Json(parse))).RunAsync(),
            MissingTable));
        return shared.Command;
    }

    /// <summary>The patterns of <c>--topics</c>: every topic when it is left out.</summary>
    internal static IReadOnlyList<string> Topics(string? value) =>
        value is null ? [".*"] : value.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

    private static Option<string> TopicsOption()
    {
        var option = new Option<string>("--topics")
        {
            HelpName = "PATTERN;…",
            Description = "Only the topics these regexes match, separated by ';'. As on the bus, each regex is anchored at " +
                "the start of the topic name: 'user_' is every topic starting with it, 'user_created$' that one topic. " +
                "Default: .* (every topic).",
        };
        option.Validators.Add(result =>
        {
            if (result.Tokens.Count != 1)
            {
                return;
            }

            var value = result.Tokens[0].Value;
            var patterns = Topics(value);
            if (patterns.Count == 0)
            {
                result.AddError($"--topics must hold at least one regex, separated by ';' (e.g. '.*' or 'user_.*;order_.*'), but is '{value}'.");
                return;
            }

            foreach (var pattern in patterns)
            {
                if (RegexProblem(pattern) is { } problem)
                {
                    result.AddError($"--topics must hold regexes separated by ';' (e.g. 'user_.*;order_.*'), but '{pattern}' is not one: {problem}");
                    return;
                }
            }
        });
        return option;
    }

    private static Option<string> SubscriptionOption()
    {
        var option = new Option<string>("--subscription")
        {
            HelpName = "NAME",
            Description = "Read as the named subscription: resume after its stored checkpoint and store the checkpoint as " +
                "events are printed, so a tail that is stopped or killed and started again with the same name goes on " +
                "where it was acknowledged. Only one process reads a name at a time; another one waits in standby and " +
                "takes over when the first stops. Default: none (an anonymous tail, which stores nothing).",
        };
        option.Validators.Add(result =>
        {
            if (result.Tokens.Count == 1 && string.IsNullOrWhiteSpace(result.Tokens[0].Value))
            {
                result.AddError("--subscription needs a name; leave the flag out for an anonymous tail.");
            }
        });
        return option;
    }

    private static Option<string> FromOption()
    {
        var option = new Option<string>("--from")
        {
            HelpName = "beginning|end",
            Description = "Where to start when there is no checkpoint: 'beginning' prints every stored event first, 'end' " +
                $"only the events committed from now on. A checkpoint stored for --subscription wins over it. Default: {DefaultFrom}.",
        };
        option.Validators.Add(result =>
        {
            if (result.Tokens.Count == 1 && result.Tokens[0].Value.Trim().ToLowerInvariant() is not ("beginning" or "end"))
            {
                result.AddError($"--from must be 'beginning' or 'end', but is '{result.Tokens[0].Value}'.");
            }
        });
        return option;
    }

    private static Option<string> CountOption()
    {
        var option = new Option<string>("--count")
        {
            HelpName = "N",
            Description = "Exit (code 0) after printing N events. Default: follow until Ctrl+C or SIGTERM, then store the " +
                "checkpoint and exit 0.",
        };
        option.Validators.Add(result =>
        {
            if (result.Tokens.Count == 1 && ParseCount(result.Tokens[0].Value) is null)
            {
                result.AddError($"--count must be a whole number of at least 1, but is '{result.Tokens[0].Value}'.");
            }
        });
        return option;
    }

    private static bool IsBeginning(string from) => string.Equals(from.Trim(), "beginning", StringComparison.OrdinalIgnoreCase);

    private static long? ParseCount(string value) =>
        long.TryParse(value.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var count) && count > 0 ? count : null;

    // The bus's rules, as the subscription will apply them (TopicFilter): the problem, or null.
    private static string? RegexProblem(string pattern)
    {
        try
        {
            _ = new TopicFilter([pattern]);
            return null;
        }
        catch (ArgumentException e)
        {
            return e.Message;
        }
    }
}

/// <summary>A tail's command line, parsed and checked.</summary>
/// <param name="Topics">The topic regexes.</param>
/// <param name="Subscription">The subscription's name; null for an anonymous tail.</param>
/// <param name="FromBeginning">Whether to start at the beginning (else at the end) when there is no checkpoint.</param>
/// <param name="Count">How many events to print before exiting; null to follow until stopped.</param>
/// <param name="Json">Whether events are printed as JSON lines.</param>
internal sealed record TailRequest(IReadOnlyList<string> Topics, string? Subscription, bool FromBeginning, long? Count, bool Json);
