using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace RxEventBus.Postgres.Tests.Support;

/// <summary>A logger that keeps what it is given, for tests that assert what was logged.</summary>
internal sealed class ListLogger<T> : ILogger<T>
{
    internal ConcurrentQueue<(LogLevel Level, EventId EventId, string Message, Exception? Exception)> Entries { get; } = new();

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Entries.Enqueue((logLevel, eventId, formatter(state, exception), exception));
}
