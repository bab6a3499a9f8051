using System.Text.Json;
using RxEventBus.Postgres;

namespace RxEventBus.Dashboard.Internal;

/// <summary>
/// An event's payload for a response: <c>data</c> as JSON when it is JSON (or can be made JSON), else
/// <c>dataBase64</c> for stored bytes that are not JSON, else <c>dataError</c> saying why it cannot be shown.
/// </summary>
internal static class Payloads
{
    public static PayloadView View(object? data)
    {
        switch (data)
        {
            case null:
                return new PayloadView(null, null, null, null);
            case BinaryPayload binary:
                return new PayloadView(null, binary.ToBase64(), null, null);
            case JsonElement element:
                return new PayloadView(element, null, null, null);
            case byte[] bytes:
                return new PayloadView(null, Convert.ToBase64String(bytes), data.GetType().FullName, null);
        }

        try
        {
            return new PayloadView(JsonSerializer.SerializeToElement(data, data.GetType(), DashboardJson.Options), null, data.GetType().FullName, null);
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException)
        {
            // An in-memory payload the bus holds can be anything (a cycle, a delegate): say so instead of failing.
            return new PayloadView(null, null, data.GetType().FullName, $"The payload cannot be shown as JSON: {e.Message}");
        }
    }
}

internal sealed record PayloadView(JsonElement? Data, string? DataBase64, string? DataType, string? DataError);
