using System.Reactive.Concurrency;

namespace RxEventBus.Hosting;

/// <summary>
/// The settings of the bus registered by <see cref="Microsoft.Extensions.DependencyInjection.RxEventBusServiceCollectionExtensions.AddRxEventBus"/>,
/// settable one by one in a configure action. Each is left null to keep the default of
/// <see cref="EventBusOptions"/>, where the defaults are documented.
/// </summary>
public sealed class EventBusOptionsBuilder
{
    /// <summary><see cref="EventBusOptions.Scheduler"/>: the bus's only clock. Null: <see cref="Scheduler.Default"/>.</summary>
    public IScheduler? Scheduler { get; set; }

    /// <summary><see cref="EventBusOptions.Topics"/>: topics registered when the bus is built. Empty by default.</summary>
    public IList<string> Topics { get; } = [];

    /// <summary><see cref="EventBusOptions.AutoRegisterTopics"/>. Null: false.</summary>
    public bool? AutoRegisterTopics { get; set; }

    /// <summary><see cref="EventBusOptions.DefaultTtl"/>. Null: no ttl.</summary>
    public TimeSpan? DefaultTtl { get; set; }

    /// <summary><see cref="EventBusOptions.DefaultSource"/>. Null: no source.</summary>
    public string? DefaultSource { get; set; }

    /// <summary><see cref="EventBusOptions.IdGenerator"/>. Null: time-ordered UUIDv7 ids.</summary>
    public Func<DateTimeOffset, Guid>? IdGenerator { get; set; }

    /// <summary><see cref="EventBusOptions.RegexMatchTimeout"/>. Null: 100 ms.</summary>
    public TimeSpan? RegexMatchTimeout { get; set; }

    /// <summary>The options for <see cref="EventBus"/>; the bus checks them when it is built.</summary>
    public EventBusOptions Build()
    {
        var defaults = new EventBusOptions();
        return new EventBusOptions
        {
            Scheduler = Scheduler ?? defaults.Scheduler,
            Topics = [.. Topics],
            AutoRegisterTopics = AutoRegisterTopics ?? defaults.AutoRegisterTopics,
            DefaultTtl = DefaultTtl ?? defaults.DefaultTtl,
            DefaultSource = DefaultSource ?? defaults.DefaultSource,
            IdGenerator = IdGenerator ?? defaults.IdGenerator,
            RegexMatchTimeout = RegexMatchTimeout ?? defaults.RegexMatchTimeout,
        };
    }
}
