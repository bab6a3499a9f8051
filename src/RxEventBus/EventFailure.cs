using System.Text.Json.Serialization;

namespace RxEventBus;

/// <summary>
/// The data of the event <see cref="EventSource"/> publishes to an error topic when the function that
/// produces an event's data throws. Plain strings, so it serializes and persists like any payload.
/// </summary>
/// <param name="Topic">The topic the failed event was for.</param>
/// <param name="ExceptionType">The full name of the exception's type.</param>
/// <param name="Message">The exception's message.</param>
public sealed record EventFailure(string Topic, string ExceptionType, string Message)
{
    /// <summary>The exception itself, for in-process subscribers. Not serialized.</summary>
    [JsonIgnore]
    public Exception? Exception { get; init; }
}
