using Microsoft.Extensions.Logging;

namespace RxEventBus.Cli;

/// <summary>
/// The dashboard server's warnings and errors on the command's standard error, one line each, prefixed like the
/// command's other messages: a request that fails (the database down, the table gone) answers 500 to the page and
/// says why here. Nothing below Warning: the command reports its own progress.
/// </summary>
internal sealed class ErrorLoggerProvider(TextWriter error, string prefix) : ILoggerProvider
{
    private readonly Lock _gate = new();

    public ILogger CreateLogger(string categoryName) => new ErrorLogger(this, categoryName);

    public void Dispose()
    {
    }

    private void Write(LogLevel level, string category, string message, Exception? exception)
    {
        var line = $"{prefix}: {(level >= LogLevel.Error ? "error" : "warning")} ({category}): {message}" +
            (exception is null ? "" : $" {exception.GetType().Name}: {exception.Message}");
        lock (_gate)
        {
            error.WriteLine(line.ReplaceLineEndings(" "));
            error.Flush();
        }
    }

    private sealed class ErrorLogger(ErrorLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning && logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                provider.Write(logLevel, category, formatter(state, exception), exception);
            }
        }
    }
}
