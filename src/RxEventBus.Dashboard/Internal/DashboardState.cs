using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RxEventBus.Postgres;

namespace RxEventBus.Dashboard.Internal;

/// <summary>One mapped dashboard: its options, and the services it reads, resolved on first use.</summary>
internal sealed class DashboardState
{
    private readonly Lazy<DashboardSources> _sources;
    private readonly Lazy<TailHub> _tail;

    public DashboardState(DashboardOptions options, IServiceProvider services)
    {
        Options = options;
        _sources = new(() => DashboardSources.Resolve(services), LazyThreadSafetyMode.ExecutionAndPublication);
        _tail = new(() => CreateTail(services), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    public DashboardOptions Options { get; }

    public DashboardSources Sources => _sources.Value;

    /// <summary>The tail every <c>api/tail</c> stream of this dashboard shares; only when <see cref="Sources"/> has a
    /// data source and a table.</summary>
    public TailHub Tail => _tail.Value;

    private TailHub CreateTail(IServiceProvider services)
    {
        var sources = Sources;
        var dataSource = sources.DataSource ?? throw new InvalidOperationException("The tail needs a data source.");
        var table = sources.Table ?? throw new InvalidOperationException("The tail needs a table.");
        // The subscription logs through the app's logging (ids 30–39, docs/observability.md): a failing tail is a line
        // in the app's log, not only a message to the pages that watch it.
        var logger = services.GetService<ILoggerFactory>()?.CreateLogger("RxEventBus.Dashboard.Tail");
        var stopping = services.GetService<IHostApplicationLifetime>()?.ApplicationStopping ?? CancellationToken.None;
        // Anonymous, from the end: it shows what commits from now on, by any instance, and stores no checkpoint.
        return new TailHub(
            () => new EventSubscription(dataSource, table, new PrintablePayloadSerializer(sources.Serializer),
                new EventSubscriptionOptions { From = SubscriptionStart.End }, sources.Bus.Scheduler, logger),
            Options.TailClientQueue,
            stopping);
    }
}
