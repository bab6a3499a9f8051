using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;

namespace RxEventBus.Dashboard.Internal;

/// <summary>How every response is written: camelCase, enums as camelCase strings, times ISO-8601 in UTC.</summary>
internal static class DashboardJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    // SSE data lines must not break: the default writer emits no newline unless indenting, and escapes any in
    // strings, so one serialized value is one line.
    public static string Line<T>(T value) => JsonSerializer.Serialize(value, Options);

    public static IResult Ok<T>(T value) => Results.Json(value, Options);

    public static DateTimeOffset? Utc(DateTimeOffset? time) => time?.ToUniversalTime();

    public static DateTimeOffset Utc(DateTimeOffset time) => time.ToUniversalTime();

    public static double? Seconds(TimeSpan? span) => span?.TotalSeconds;
}

/// <summary>Errors as RFC 9457 problem details (application/problem+json), each saying what to do about it.</summary>
internal static class Problems
{
    public static IResult NotFound(string title, string detail) => Results.Problem(detail, statusCode: StatusCodes.Status404NotFound, title: title);

    public static IResult BadRequest(string detail) => Results.Problem(detail, statusCode: StatusCodes.Status400BadRequest, title: "Bad request");

    public static IResult Forbidden(string title, string detail) => Results.Problem(detail, statusCode: StatusCodes.Status403Forbidden, title: title);

    public static IResult NoStore() => NotFound("No store is configured",
        "This app has no PostgreSQL persistence: register it with AddRxEventBus(…).AddPostgresPersistence(…), or register an " +
        "EventStore (and a DeadLetterStore) in its services, to read stored events here.");

    public static IResult NoDeadLetterStore() => NotFound("No dead-letter store is configured",
        "This app has no PostgreSQL persistence: register it with AddRxEventBus(…).AddPostgresPersistence(…), or register a " +
        "DeadLetterStore in its services, to read dead letters here.");
}
