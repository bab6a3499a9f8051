using System.CommandLine;
using System.CommandLine.Parsing;
using System.Reactive.Concurrency;
using RxEventBus.Postgres;

namespace RxEventBus.Cli;

/// <summary>
/// <c>rxeventbus dead-letters</c>: the dead-letter table beside the events table, where the consumer stores each
/// event the table refused — list it, replay it into the events table once the cause is fixed, purge it.
/// </summary>
internal static class DeadLettersCommand
{
    /// <summary>Dead letters read per page while <c>replay --all</c> collects their ids.</summary>
    internal const int ListingPageSize = 1_000;

    // Follows PostgreSQL's `relation "…" does not exist`: an events table made by an earlier version has no
    // dead-letter table until a consumer of this version starts on it.
    private const string MissingTable =
        "the events table was created before dead letters were stored beside it, or nothing was persisted there yet. " +
        "Run the demo, or start the consumer, on it once to add the dead-letter table (EB_PG_ENSURE_SCHEMA, on by " +
        "default), run docs/schema.sql, or give --schema/--table.";

    public static Command Create(CliContext context)
    {
        var shared = new DatabaseCommand(
            context,
            "dead-letters",
            "The events the table refused, kept beside it: list them, replay them into the events table once the cause " +
            "is fixed, purge them. Needs --database-url (or EB_PG_DATABASE_URL).",
            "Print the result as JSON.");
        shared.Command.Add(List(context, shared));
        shared.Command.Add(Replay(context, shared));
        shared.Command.Add(Purge(context, shared));
        return shared.Command;
    }

    private static Command List(CliContext context, DatabaseCommand shared)
    {
        var topic = TopicOption("Only the dead letters of this topic.");
        var (page, perPage) = (CommandOptions.PageOption(), CommandOptions.PerPageOption("Dead letters", DeadLetterStore.MaxPerPage));
        var list = new Command(
            "list",
            "One page of dead letters, the most recently failed first: id, last failure, topic, attempts, error type " +
            "and reason, tab-separated; their number on standard error.")
        {
            topic, page, perPage,
        };
        list.SetAction((parse, _) => Run(shared, parse, "list", async (store, session) =>
        {
            var (pageNumber, pageSize, topicName) = (parse.GetValue(page), parse.GetValue(perPage), parse.GetValue(topic));
            var total = await store.CountAsync(topicName, session.Stopping);
            var letters = await store.ListAsync(pageNumber, pageSize, topicName, session.Stopping);
            if (shared.Json(parse))
            {
                DeadLetterOutput.WriteList(context.Out, total, pageNumber, pageSize, letters);
            }
            else
            {
                DeadLetterOutput.WriteLines(context.Out, letters);

                // On standard error: standard output keeps one line per dead letter, for cut and awk.
                context.Error.WriteLine(DeadLetterOutput.Total(total, topicName, pageNumber, pageSize));
            }

            return ExitCodes.Success;
        }));
        return list;
    }

    private static Command Replay(CliContext context, DatabaseCommand shared)
    {
        var ids = CommandOptions.IdsArgument("id", "The dead letters to replay (their events' ids).");
        var all = new Option<bool>("--all") { Description = "Replay every dead letter (of --topic, if given)." };
        var topic = TopicOption("With --all: only the dead letters of this topic.");
        var replay = new Command(
            "replay",
            "Write dead letters straight into the events table, as they were stored, and remove them; one that the table " +
            "still refuses stays, with one more attempt and the new reason. Exit code 0 when every one was replayed or " +
            "was already stored, 1 when one was not found or failed again.")
        {
            ids, all, topic,
        };
        replay.Validators.Add(result => CheckSelection(result, "replay", ids, all, topic));
        replay.SetAction((parse, _) => Run(shared, parse, "replay", async (store, session) =>
        {
            var everyOne = parse.GetValue(all);
            var targets = everyOne ? await AllIdsAsync(store, parse.GetValue(topic), session.Stopping) : CommandOptions.Ids(parse, ids);
            var json = shared.Json(parse);
            var results = new List<DeadLetterReplay>(targets.Count);
            foreach (var id in targets)
            {
                if (session.Stopping.IsCancellationRequested)
                {
                    break;
                }

                DeadLetterReplay result;
                try
                {
                    result = await store.ReplayToTableAsync(id, session.Options.DefaultTtl, session.Stopping);
                }
                catch (OperationCanceledException) when (session.Stopping.IsCancellationRequested)
                {
                    // Its transaction rolled back: the dead letter is still there, untouched.
                    break;
                }

                results.Add(result);
                if (!json)
                {
                    DeadLetterOutput.WriteReplay(context.Out, result);
                }
            }

            var interrupted = results.Count < targets.Count;
            if (json)
            {
                DeadLetterOutput.WriteReplays(context.Out, results, interrupted);
            }
            else
            {
                context.Error.WriteLine(DeadLetterOutput.ReplayTotals(results, targets.Count, store.Table));
            }

            // With --all a dead letter that is gone by its turn was replayed or purged by someone else meanwhile:
            // nothing is left to do about it. A named one that is not there is a mistaken id.
            var failed = results.Exists(r =>
                r.Outcome == DeadLetterReplayOutcome.FailedAgain || (r.Outcome == DeadLetterReplayOutcome.NotFound && !everyOne));
            return interrupted ? context.Stop.ExitCode : failed ? ExitCodes.Failure : ExitCodes.Success;
        }));
        return replay;
    }

    private static Command Purge(CliContext context, DatabaseCommand shared)
    {
        var ids = CommandOptions.IdsArgument("id", "The dead letters to delete (their events' ids).");
        var all = new Option<bool>("--all") { Description = "Delete every dead letter (that last failed before --before, if given)." };
        var before = CommandOptions.TimeOption("--before", "With --all: only the dead letters that last failed before this time");
        var purge = new Command(
            "purge",
            "Delete dead letters for good and print how many. Exit code 1 when an id given has no dead letter.")
        {
            ids, all, before,
        };
        purge.Validators.Add(result => CheckSelection(result, "purge", ids, all, before));
        purge.SetAction((parse, _) => Run(shared, parse, "purge", async (store, session) =>
        {
            var notFound = new List<Guid>();
            long purged;
            if (parse.GetValue(all))
            {
                purged = await store.PurgeAllAsync(CommandOptions.Time(parse, before), session.Stopping);
            }
            else
            {
                purged = 0;
                foreach (var id in CommandOptions.Ids(parse, ids))
                {
                    if (await store.PurgeAsync(id, session.Stopping))
                    {
                        purged++;
                    }
                    else
                    {
                        notFound.Add(id);
                    }
                }
            }

            if (shared.Json(parse))
            {
                DeadLetterOutput.WritePurge(context.Out, purged, notFound);
            }
            else
            {
                context.Out.WriteLine(DeadLetterOutput.Count(purged, "Purged ") + ".");
            }

            foreach (var id in notFound)
            {
                context.Error.WriteLine($"rxeventbus dead-letters purge: no dead letter with id {id} in {store.Table.DeadLettersQualifiedName}.");
            }

            return notFound.Count == 0 ? ExitCodes.Success : ExitCodes.Failure;
        }));
        return purge;
    }

    private static Task<int> Run(DatabaseCommand shared, ParseResult parse, string name, Func<DeadLetterStore, DatabaseSession, Task<int>> body) =>
        shared.RunAsync(
            parse,
            name,
            session => body(new DeadLetterStore(session.DataSource, session.Table, Scheduler.Default), session),
            MissingTable);

    // Ids or --all, never both and never neither: a purge of everything must be asked for by name, and ids
    // with --all would leave it unclear which was meant. The filter flag only narrows --all.
    private static void CheckSelection(CommandResult result, string verb, Argument<string[]> ids, Option<bool> all, Option<string> filter)
    {
        var hasIds = result.GetValue(ids) is { Length: > 0 };
        var hasAll = result.GetValue(all);
        if (hasIds && hasAll)
        {
            result.AddError($"give the ids of the dead letters to {verb}, or --all, not both.");
        }
        else if (!hasIds && !hasAll)
        {
            result.AddError($"give the ids of the dead letters to {verb}, or --all for every one.");
        }
        else if (!hasAll && result.GetValue(filter) is not null)
        {
            result.AddError($"{filter.Name} narrows --all; the ids given already name the dead letters to {verb}.");
        }
    }

    // Every id first, then the replays, oldest failure first: a replayed dead letter leaves the table and one that
    // fails again moves to the top (its last failure is now), so pages read while replaying would skip some and
    // show others twice. Dead letters stored while the replay runs are left for the next one.
    private static async Task<IReadOnlyList<Guid>> AllIdsAsync(DeadLetterStore store, string? topic, CancellationToken cancellationToken)
    {
        var ids = new List<Guid>();
        var seen = new HashSet<Guid>();
        for (var page = 1; ; page++)
        {
            var letters = await store.ListAsync(page, ListingPageSize, topic, cancellationToken);

            // A dead letter stored meanwhile pushes the rest down a place: the one at a page's end comes again.
            ids.AddRange(letters.Where(letter => seen.Add(letter.Id)).Select(static letter => letter.Id));
            if (letters.Count < ListingPageSize)
            {
                ids.Reverse();
                return ids;
            }
        }
    }

    private static Option<string> TopicOption(string description) =>
        new("--topic") { HelpName = "TOPIC", Description = description };
}
