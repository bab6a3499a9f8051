using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using RxEventBus.Postgres;

namespace RxEventBus.Dashboard.Internal;

/// <summary>The stored dead letters, and the two actions on one: replay and purge (<see cref="ActionGuard"/>).</summary>
internal static class DeadLetterEndpoints
{
    public static void Map(IEndpointRouteBuilder api, DashboardState state)
    {
        api.MapGet("/dead-letters", (string? topic, string? page, string? perPage, CancellationToken cancellationToken) =>
            ListAsync(state, topic, page, perPage, cancellationToken));
        api.MapPost("/dead-letters/{id}/replay", (HttpContext context, string id) => ActAsync(state, context, id, replay: true));
        api.MapPost("/dead-letters/{id}/purge", (HttpContext context, string id) => ActAsync(state, context, id, replay: false));
    }

    private static async Task<IResult> ListAsync(DashboardState state, string? topic, string? page, string? perPage, CancellationToken cancellationToken)
    {
        if (state.Sources.DeadLetters is not { } store)
        {
            return Problems.NoDeadLetterStore();
        }

        if (!Query.TryPositive(page, "page", 1, int.MaxValue, out var pageNumber, out var error)
            || !Query.TryPositive(perPage, "perPage", 100, DeadLetterStore.MaxPerPage, out var size, out error))
        {
            return error;
        }

        var only = string.IsNullOrEmpty(topic) ? null : topic;
        var total = await store.CountAsync(only, cancellationToken).ConfigureAwait(false);
        var letters = await store.ListAsync(pageNumber, size, only, cancellationToken).ConfigureAwait(false);
        return DashboardJson.Ok(new
        {
            Page = pageNumber,
            PerPage = size,
            Total = total,
            DeadLetters = letters.Select(View),
        });
    }

    private static object View(StoredDeadLetter letter) => new
    {
        letter.Id,
        letter.TransactionId,
        letter.Topic,
        // The payload as the dead-letter table keeps it: JSON text, or null when it could not be made.
        letter.Data,
        letter.DataType,
        InitializedAt = DashboardJson.Utc(letter.InitializedAt),
        OccurredAt = DashboardJson.Utc(letter.OccurredAt),
        letter.Source,
        TtlSeconds = DashboardJson.Seconds(letter.Ttl),
        letter.Reason,
        letter.ErrorType,
        FirstFailedAt = DashboardJson.Utc(letter.FirstFailedAt),
        LastFailedAt = DashboardJson.Utc(letter.LastFailedAt),
        letter.Attempts,
    };

    private static async Task<IResult> ActAsync(DashboardState state, HttpContext context, string id, bool replay)
    {
        if (ActionGuard.Refuse(state.Options, context.Request) is { } refused)
        {
            return refused;
        }

        if (state.Sources.DeadLetters is not { } store)
        {
            return Problems.NoDeadLetterStore();
        }

        if (!Guid.TryParse(id, out var guid))
        {
            return Problems.BadRequest($"'{id}' is not a dead letter's id (a GUID).");
        }

        // The action runs to its end once asked: a browser closing its tab must not leave a replay half done.
        if (!replay)
        {
            var purged = await store.PurgeAsync(guid, CancellationToken.None).ConfigureAwait(false);
            return purged
                ? DashboardJson.Ok(new { Id = guid, Outcome = "purged" })
                : Problems.NotFound("No such dead letter", $"No dead letter {guid} is stored in {store.Table.DeadLettersQualifiedName}.");
        }

        // Through the consumer when there is one, so this app's subscribers see the event again; else straight
        // into the events table.
        var consumer = state.Sources.Consumer;
        var result = consumer is not null
            ? await consumer.ReplayDeadLetterAsync(guid, CancellationToken.None).ConfigureAwait(false)
            : await store.ReplayToTableAsync(guid, state.Sources.DefaultTtl, CancellationToken.None).ConfigureAwait(false);
        var answer = new { result.Id, result.Outcome, result.Reason, Through = consumer is not null ? "bus" : "table" };
        return result.Outcome == DeadLetterReplayOutcome.NotFound
            ? Results.Json(answer, DashboardJson.Options, statusCode: StatusCodes.Status404NotFound)
            : DashboardJson.Ok(answer);
    }
}
