using System.CommandLine;
using System.Globalization;
using System.Reactive.Concurrency;
using Npgsql;
using RxEventBus.Postgres;

namespace RxEventBus.Cli;

/// <summary>
/// <c>rxeventbus query</c>: the seed's <c>Store</c> from the command line — count, count per topic, find by id,
/// by transaction id, and every event — over the table the consumer writes.
/// </summary>
internal static class QueryCommand
{
    private const int DefaultPerPage = 100;

    public static Command Create(CliContext context)
    {
        var flags = PersistenceFlags.ForQuery();
        var json = new Option<bool>("--json") { Description = "Print the result as JSON." };
        var query = new Command(
            "query",
            "Read what the consumer stored. Needs --database-url (or EB_PG_DATABASE_URL); to query the demo's throwaway " +
            "PostgreSQL, run the demo with --keep, which prints its URL.");
        foreach (var flag in flags.All)
        {
            flag.Option.Recursive = true;
        }

        json.Recursive = true;
        flags.AddTo(query);
        query.Add(json);

        var since = SinceOption();
        var count = new Command("count", "How many events are stored (that occurred at or after --since).") { since };
        count.SetAction((parse, _) => Run(context, parse, flags, "count", async (store, token) =>
        {
            var total = await store.CountAsync(Since(parse, since), token);
            context.Out.WriteLine(parse.GetValue(json) ? Invariant($"{{\"count\":{total}}}") : Invariant($"{total}"));
            return ExitCodes.Success;
        }));

        var topicsSince = SinceOption();
        var topics = new Command("topics", "How many events each topic has (that occurred at or after --since).") { topicsSince };
        topics.SetAction((parse, _) => Run(context, parse, flags, "topics", async (store, token) =>
        {
            var counts = await store.CountPerTopicAsync(Since(parse, topicsSince), token);
            EventOutput.WriteTopicCounts(context.Out, counts, parse.GetValue(json));
            return ExitCodes.Success;
        }));

        var id = IdArgument("id", "The event's id.");
        var find = new Command("find", "The event with this id; exit code 1 when there is none.") { id };
        find.SetAction((parse, _) => Run(context, parse, flags, "find", async (store, token) =>
        {
            var eventId = Guid.Parse(parse.GetValue(id)!, CultureInfo.InvariantCulture);
            if (await store.FindAsync(eventId, token) is not { } found)
            {
                context.Error.WriteLine($"rxeventbus query find: no event with id {eventId} in {store.Table.Schema}.{store.Table.Table}.");
                return ExitCodes.Failure;
            }

            EventOutput.WriteEvent(context.Out, found, parse.GetValue(json));
            return ExitCodes.Success;
        }));

        var transactionId = IdArgument("transaction-id", "The transaction id (the demo prints its own).");
        var (transactionPage, transactionPerPage, transactionSince) = (PageOption(), PerPageOption(), SinceOption());
        var transaction = new Command("transaction", "One page of the events of a transaction, in the order they occurred.")
        {
            transactionId, transactionPage, transactionPerPage, transactionSince,
        };
        transaction.SetAction((parse, _) => Run(context, parse, flags, "transaction", async (store, token) =>
        {
            var (page, perPage) = (parse.GetValue(transactionPage), parse.GetValue(transactionPerPage));
            var events = await store.FindAllByTransactionIdAsync(
                Guid.Parse(parse.GetValue(transactionId)!, CultureInfo.InvariantCulture), page, perPage, Since(parse, transactionSince), token);
            EventOutput.WriteEvents(context.Out, events, page, perPage, parse.GetValue(json));
            return ExitCodes.Success;
        }));

        var (allPage, allPerPage, allSince) = (PageOption(), PerPageOption(), SinceOption());
        var all = new Command("all", "One page of every stored event, in the order they occurred.") { allPage, allPerPage, allSince };
        all.SetAction((parse, _) => Run(context, parse, flags, "all", async (store, token) =>
        {
            var (page, perPage) = (parse.GetValue(allPage), parse.GetValue(allPerPage));
            var events = await store.AllAsync(page, perPage, Since(parse, allSince), token);
            EventOutput.WriteEvents(context.Out, events, page, perPage, parse.GetValue(json));
            return ExitCodes.Success;
        }));

        query.Add(count);
        query.Add(topics);
        query.Add(find);
        query.Add(transaction);
        query.Add(all);
        return query;
    }

    private static Task<int> Run(
        CliContext context, ParseResult parse, PersistenceFlags flags, string name, Func<EventStore, CancellationToken, Task<int>> body)
    {
        var databaseUrl = OptionBinding.ValueOf(parse, flags.DatabaseUrl, context.Environment);
        return CommandRunner.RunAsync(context, $"query {name}", databaseUrl, async () =>
        {
            if (databaseUrl is null)
            {
                throw new CliUsageException(
                    "a database is needed: give --database-url postgres://user:password@host:port/database (or set EB_PG_DATABASE_URL). " +
                    "To query the demo's throwaway PostgreSQL, run the demo with --keep: it prints the URL to use.");
            }

            var options = OptionBinding.Bind(parse, flags.All, context.Environment, new Dictionary<string, string>());
            await using var dataSource = NpgsqlDataSource.Create(options.ConnectionString);
            var store = new EventStore(dataSource, new EventTable(options.Schema, options.Table), options.Serializer, Scheduler.Default);
            return await body(store, context.Stop.Stopping);
        });
    }

    private static Argument<string> IdArgument(string name, string description)
    {
        var argument = new Argument<string>(name) { Description = description };
        argument.Validators.Add(result =>
        {
            if (result.Tokens.Count == 1 && !Guid.TryParse(result.Tokens[0].Value, CultureInfo.InvariantCulture, out _))
            {
                result.AddError($"{name} must be a UUID such as 0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b, but is '{result.Tokens[0].Value}'.");
            }
        });
        return argument;
    }

    private static Option<string> SinceOption()
    {
        var option = new Option<string>("--since")
        {
            HelpName = "TIME",
            Description = "Only events that occurred at or after this time: ISO 8601, e.g. 2025-01-31T12:00:00Z (UTC when no offset is given).",
        };
        option.Validators.Add(result =>
        {
            if (result.Tokens.Count == 1 && ParseTime(result.Tokens[0].Value) is null)
            {
                result.AddError($"--since must be a time such as 2025-01-31T12:00:00Z, but is '{result.Tokens[0].Value}'.");
            }
        });
        return option;
    }

    private static Option<int> PageOption()
    {
        var option = new Option<int>("--page") { HelpName = "N", Description = "The page, from 1.", DefaultValueFactory = _ => 1 };
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() < 1)
            {
                result.AddError("--page counts from 1.");
            }
        });
        return option;
    }

    private static Option<int> PerPageOption()
    {
        var option = new Option<int>("--per-page")
        {
            HelpName = "N",
            Description = Invariant($"Events per page, 1 to {EventStore.MaxPerPage}."),
            DefaultValueFactory = _ => DefaultPerPage,
        };
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() is < 1 or > EventStore.MaxPerPage)
            {
                result.AddError(Invariant($"--per-page must be from 1 to {EventStore.MaxPerPage}."));
            }
        });
        return option;
    }

    private static DateTimeOffset? Since(ParseResult parse, Option<string> since) =>
        parse.GetValue(since) is { } text ? ParseTime(text) : null;

    private static DateTimeOffset? ParseTime(string text) =>
        DateTimeOffset.TryParse(text.Trim(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time) ? time : null;

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
