namespace RxEventBus.Dashboard.Internal;

/// <summary>One mapped dashboard: its options, and the services it reads, resolved on first use.</summary>
internal sealed class DashboardState(DashboardOptions options, IServiceProvider services)
{
    private readonly Lazy<DashboardSources> _sources = new(() => DashboardSources.Resolve(services), LazyThreadSafetyMode.ExecutionAndPublication);

    public DashboardOptions Options { get; } = options;

    public DashboardSources Sources => _sources.Value;
}
