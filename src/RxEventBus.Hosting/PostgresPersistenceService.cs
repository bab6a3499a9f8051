using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using RxEventBus.Hosting.Internal;
using RxEventBus.Postgres;

namespace RxEventBus.Hosting;

/// <summary>
/// Runs the <see cref="PostgresConsumer"/> for the life of the host: starts it when the host starts, and on
/// shutdown stops intake, drains the buffer, flushes the last batch and releases its connections — within the
/// host's shutdown timeout (<c>HostOptions.ShutdownTimeout</c>), whose token bounds
/// <see cref="PostgresConsumer.StopAsync"/>; what is not written by then is logged and listed in
/// <see cref="PostgresConsumer.Unwritten"/>.
/// </summary>
/// <remarks>
/// <para>Registered by <c>AddPostgresPersistence</c>; inject it to reach <see cref="Consumer"/> (statistics,
/// dead letters, the event store).</para>
/// <para>On a host that runs lifecycle services (every .NET 8+ host), the consumer starts in
/// <see cref="StartingAsync"/>, before any hosted service's <c>StartAsync</c>, and drains in
/// <see cref="StoppedAsync"/>, after every hosted service's <c>StopAsync</c>: whatever the registration order,
/// events published by other hosted services while they start or stop are persisted. On a host that only calls
/// <see cref="StartAsync"/> and <see cref="StopAsync"/>, those do the same.</para>
/// </remarks>
public sealed class PostgresPersistenceService : IHostedLifecycleService, IAsyncDisposable, IDisposable
{
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private Task? _start;
    private Task? _stop;
    private bool _stoppedWillFollow;

    /// <summary>
    /// Checks <paramref name="options"/> and, when persistence is enabled, creates the consumer of
    /// <paramref name="bus"/>. Nothing is connected or subscribed until the host starts.
    /// </summary>
    /// <param name="bus">The bus whose events to persist.</param>
    /// <param name="options">The persistence settings.</param>
    /// <param name="consumerLogger">Where the consumer logs retries, drops, dead letters and schema creation.</param>
    /// <param name="logger">Where this service logs that it starts, or that persistence is disabled.</param>
    /// <exception cref="ArgumentNullException"><paramref name="bus"/> or <paramref name="options"/> is null.</exception>
    /// <exception cref="ArgumentException">An option is invalid (persistence enabled).</exception>
    public PostgresPersistenceService(
        EventBus bus,
        PostgresPersistenceOptions options,
        ILogger<PostgresConsumer>? consumerLogger = null,
        ILogger<PostgresPersistenceService>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(bus);
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        Consumer = options.Enabled ? new PostgresConsumer(bus, options, dataSource: null, consumerLogger) : null;
    }

    /// <summary>The settings in force.</summary>
    public PostgresPersistenceOptions Options { get; }

    /// <summary>The consumer; null when persistence is disabled (<c>EB_PG_ENABLED=false</c>).</summary>
    public PostgresConsumer? Consumer { get; }

    /// <summary>Starts the consumer: creates the schema if asked to, subscribes to the bus, starts the writers.</summary>
    /// <param name="cancellationToken">The host's start token: abandons the schema creation.</param>
    public Task StartingAsync(CancellationToken cancellationToken) => StartOnceAsync(cancellationToken);

    /// <summary>Starts the consumer, unless <see cref="StartingAsync"/> already did.</summary>
    /// <param name="cancellationToken">The host's start token.</param>
    public Task StartAsync(CancellationToken cancellationToken) => StartOnceAsync(cancellationToken);

    /// <summary>Does nothing: the consumer is running.</summary>
    /// <param name="cancellationToken">Unused.</param>
    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Does nothing but note that <see cref="StoppedAsync"/> will follow, so that the consumer keeps persisting
    /// what the other hosted services publish while they stop.
    /// </summary>
    /// <param name="cancellationToken">Unused.</param>
    public Task StoppingAsync(CancellationToken cancellationToken)
    {
        using (_gate.EnterScope())
        {
            _stoppedWillFollow = true;
        }

        return Task.CompletedTask;
    }

    /// <summary>Drains and disposes the consumer, unless <see cref="StoppedAsync"/> will.</summary>
    /// <param name="cancellationToken">The host's shutdown token: when it fires, the drain ends.</param>
    public Task StopAsync(CancellationToken cancellationToken)
    {
        using (_gate.EnterScope())
        {
            if (_stoppedWillFollow)
            {
                return Task.CompletedTask;
            }
        }

        return StopOnceAsync(cancellationToken);
    }

    /// <summary>Drains and disposes the consumer, after every hosted service has stopped.</summary>
    /// <param name="cancellationToken">The host's shutdown token: when it fires, the drain ends.</param>
    public Task StoppedAsync(CancellationToken cancellationToken) => StopOnceAsync(cancellationToken);

    /// <summary>Stops the consumer if the host did not (waiting for its own shutdown timeout), and disposes it.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopOnceAsync(CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>
    /// The same as <see cref="DisposeAsync"/>, blocking: for a container disposed synchronously. After the host
    /// stopped, the consumer is already disposed and this returns at once.
    /// </summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    private Task StartOnceAsync(CancellationToken cancellationToken)
    {
        using (_gate.EnterScope())
        {
            return _start ??= StartCoreAsync(cancellationToken);
        }
    }

    private Task StopOnceAsync(CancellationToken cancellationToken)
    {
        using (_gate.EnterScope())
        {
            return _stop ??= StopCoreAsync(cancellationToken);
        }
    }

    private async Task StartCoreAsync(CancellationToken cancellationToken)
    {
        if (Consumer is null)
        {
            Log.PersistenceDisabled(_logger);
            return;
        }

        Log.PersistenceStarting(_logger, Options);
        await Consumer.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task StopCoreAsync(CancellationToken cancellationToken)
    {
        if (Consumer is null)
        {
            return;
        }

        try
        {
            await Consumer.StopAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await Consumer.DisposeAsync().ConfigureAwait(false);
        }
    }
}
