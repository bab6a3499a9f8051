using System.Reactive.Concurrency;
using RxEventBus.Internal;

namespace RxEventBus;

/// <summary>
/// Settings of an <see cref="EventBus"/>: its topics, the defaults it stamps on events (source, ttl, id
/// generator; times are <see cref="DateTimeOffset"/>) and the scheduler that is the bus's only clock.
/// </summary>
public sealed class EventBusOptions
{
    /// <summary>
    /// The bus's clock: every timestamp the bus stamps and every time-based operator built on the bus reads
    /// it. Default: <see cref="System.Reactive.Concurrency.Scheduler.Default"/>. Tests pass a
    /// <c>TestScheduler</c> to drive time.
    /// </summary>
    public IScheduler Scheduler { get; init; } = System.Reactive.Concurrency.Scheduler.Default;

    /// <summary>Topics registered when the bus is built. Default: none.</summary>
    public IReadOnlyCollection<string> Topics { get; init; } = [];

    /// <summary>
    /// When true, publishing to (or subscribing to, or attaching a source to) a topic that is not registered
    /// registers it. Default: false — an unregistered topic is an error, which catches typos.
    /// </summary>
    public bool AutoRegisterTopics { get; init; }

    /// <summary>Ttl given to events built by the bus when the caller gives none. Default: null (no ttl).</summary>
    public TimeSpan? DefaultTtl { get; init; }

    /// <summary>Source given to events built by the bus when the caller gives none. Default: null.</summary>
    public string? DefaultSource { get; init; }

    /// <summary>
    /// Makes ids for events built by the bus. It receives the bus's current time. Default: a time-ordered
    /// UUIDv7 of that time (<see cref="Guid.CreateVersion7(DateTimeOffset)"/>), so ids sort by creation and
    /// keep a database primary-key index append-only. A time before the Unix epoch, which UUIDv7 cannot
    /// encode, is taken as the epoch itself: the ids stay valid and unique but no longer sort by time (a plain
    /// <c>TestScheduler</c> starts at 0001-01-01; <c>RxEventBus.Testing</c>'s <c>UnixEpochTestScheduler</c>
    /// starts at the epoch for that reason).
    /// </summary>
    public Func<DateTimeOffset, Guid> IdGenerator { get; init; } = static now => Guid.CreateVersion7(
        // A TestScheduler's clock starts at 0001-01-01; Guid.CreateVersion7 throws for any time before 1970,
        // which would make every publish in a virtual-time test fail.
        now < DateTimeOffset.UnixEpoch ? DateTimeOffset.UnixEpoch : now);

    /// <summary>
    /// Longest time one topic pattern may take to match one topic name. Patterns are matched only when a
    /// subscription or a topic is added, never per publish. Default: 100 ms.
    /// </summary>
    public TimeSpan RegexMatchTimeout { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Checks every value; throws an <see cref="ArgumentException"/> whose message names the option and what it expects.</summary>
    /// <exception cref="ArgumentException">A value is invalid.</exception>
    public void Validate()
    {
        if (Scheduler is null)
        {
            throw new ArgumentException("EventBusOptions.Scheduler must not be null.", "options");
        }

        if (Topics is null)
        {
            throw new ArgumentException("EventBusOptions.Topics must not be null (use an empty list).", "options");
        }

        var index = 0;
        foreach (var topic in Topics)
        {
            if (topic is null)
            {
                throw new ArgumentException($"EventBusOptions.Topics[{index}] is null; a topic name is a non-empty string.", "options");
            }

            try
            {
                // The bus's own rule, checked here so that ValidateOnStart refuses the name, not the bus's constructor.
                // No parameter name: the message goes into this one, which has its own.
                TopicName.Validate(topic, paramName: null!);
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException($"EventBusOptions.Topics[{index}] is not a valid topic name: {e.Message}", "options", e);
            }

            index++;
        }

        if (IdGenerator is null)
        {
            throw new ArgumentException("EventBusOptions.IdGenerator must not be null.", "options");
        }

        if (DefaultTtl is { } ttl && ttl <= TimeSpan.Zero)
        {
            throw new ArgumentException($"EventBusOptions.DefaultTtl must be positive or null, not {ttl}.", "options");
        }

        if (RegexMatchTimeout <= TimeSpan.Zero || RegexMatchTimeout > TimeSpan.FromDays(24))
        {
            throw new ArgumentException(
                $"EventBusOptions.RegexMatchTimeout must be positive and at most 24 days, not {RegexMatchTimeout}.", "options");
        }
    }
}
