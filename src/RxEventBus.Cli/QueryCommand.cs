using System.CommandLine;
using System.Globalization;
using System.Reactive.Concurrency;
using RxEventBus.Postgres;

namespace RxEventBus.Cli;

/// <summary>
/// <c>rxeventbus query</c>: <c>EventStore</c> from the command line — count, count per topic, find by id,
/// by transaction id, and every event — over the table the consumer writes.
/// </summary>
internal static class QueryCommand
{
    public static Command Create(CliContext context)
    {
        var shared = new DatabaseCommand(
            context,
            "query",
            "Read what the consumer stored. Needs --database-url (or EB_PG_DATABASE_URL); to query the demo's throwaway " +
            "PostgreSQL, run the demo with --keep, which prints its URL.",
            "Print the result as JSON.");
        var query = shared.Command;

        var since = SinceOption();
        var count = new Command("count", "How many events are stored (that occurred at or after --since).") { since };
        count.SetAction((parse, _) => Run(shared, parse, "count", async (store, token) =>
        {
            var total = await store.CountAsync(CommandOptions.Time(parse, since), token);
            context.Out.WriteLine(shared.Json(parse) ? Invariant($"{{\"count\":{total}}}") : Invariant($"{total}"));
            return ExitCodes.Success;
        }));

        var topicsSince = SinceOption();
        var topics = new Command("topics", "How many events each topic has (that occurred at or after --since).") { topicsSince };
        topics.SetAction((parse, _) => Run(shared, parse, "topics", async (store, token) =>
        {
            var counts = await store.CountPerTopicAsync(CommandOptions.Time(parse, topicsSince), token);
            EventOutput.WriteTopicCounts(context.Out, counts, shared.Json(parse));
            return ExitCodes.Success;
        }));

        var id = CommandOptions.IdArgument("id", "The event's id.");
        var find = new Command("find", "The event with this id; exit code 1 when there is none.") { id };
        find.SetAction((parse, _) => Run(shared, parse, "find", async (store, token) =>
        {
            var eventId = Guid.Parse(parse.GetValue(id)!, CultureInfo.InvariantCulture);
            if (await store.FindAsync(eventId, token) is not { } found)
            {
                context.Error.WriteLine($"rxeventbus query find: no event with id {eventId} in {store.Table.Schema}.{store.Table.Table}.");
                return ExitCodes.Failure;
            }

            EventOutput.WriteEvent(context.Out, found, shared.Json(parse));
            return ExitCodes.Success;
        }));

        var transactionId = CommandOptions.IdArgument("transaction-id", "The transaction id (the demo prints its own).");
        var (transactionPage, transactionPerPage, transactionSince) = (CommandOptions.PageOption(), PerPageOption(), SinceOption());
        var transaction = new Command("transaction", "One page of the events of a transaction, in the order they occurred.")
        {
            transactionId, transactionPage, transactionPerPage, transactionSince,
        };
        transaction.SetAction((parse, _) => Run(shared, parse, "transaction", async (store, token) =>
        {
            var (page, perPage) = (parse.GetValue(transactionPage), parse.GetValue(transactionPerPage));
            var events = await store.FindAllByTransactionIdAsync(
                Guid.Parse(parse.GetValue(transactionId)!, CultureInfo.InvariantCulture), page, perPage, CommandOptions.Time(parse, transactionSince), token);
            EventOutput.WriteEvents(context.Out, events, page, perPage, shared.Json(parse));
            return ExitCodes.Success;
        }));

        var (allPage, allPerPage, allSince) = (CommandOptions.PageOption(), PerPageOption(), SinceOption());
        var all = new Command("all", "One page of every stored event, in the order they occurred.") { allPage, allPerPage, allSince };
        all.SetAction((parse, _) => Run(shared, parse, "all", async (store, token) =>
        {
            var (page, perPage) = (parse.GetValue(allPage), parse.GetValue(allPerPage));
            var events = await store.AllAsync(page, perPage, CommandOptions.Time(parse, allSince), token);
            EventOutput.WriteEvents(context.Out, events, page, perPage, shared.Json(parse));
            return ExitCodes.Success;
        }));

        query.Add(count);
        query.Add(topics);
        query.Add(find);
        query.Add(transaction);
        query.Add(all);
        return query;
    }

    private static Task<int> Run(DatabaseCommand shared, ParseResult parse, string name, Func<EventStore, CancellationToken, Task<int>> body) =>
        shared.RunAsync(parse, name, session => body(
            new EventStore(session.DataSource, session.Table, new PrintablePayloadSerializer(session.Options.Serializer), Scheduler.Default), session.Stopping));

    private static Option<string> SinceOption() =>
        CommandOptions.TimeOption("--since", "Only events that occurred at or after this time");

    private static Option<int> PerPageOption() => CommandOptions.PerPageOption("Events", EventStore.MaxPerPage);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
