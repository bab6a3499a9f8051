namespace RxEventBus.Postgres;

/// <summary>
/// How an <see cref="EventSubscription"/> reads the events table. Each default is in the property's
/// documentation; <see cref="Validate"/> names the first setting that is out of range.
/// </summary>
public sealed class EventSubscriptionOptions
{
    /// <summary>
    /// The subscription's durable name, or null (default) for an anonymous one. A named subscription stores
    /// its checkpoint under this name, resumes from it, and reads in one instance at a time across processes.
    /// At most 200 characters.
    /// </summary>
    public string? Name { get; set; }

    /// <summary>The topics to deliver, as regular expressions with the bus's rules (anchored at the start of
    /// the topic name; <see cref="TopicFilter"/>). Default: <c>[".*"]</c>, every topic. Rows of other topics are
    /// passed over, and the checkpoint moves past them.</summary>
    public IReadOnlyList<string> Topics { get; set; } = [".*"];

    /// <summary>Where to start without a stored checkpoint. Default: <see cref="SubscriptionStart.Beginning"/>.</summary>
    public SubscriptionStart From { get; set; } = SubscriptionStart.Beginning;

    /// <summary>Rows handed over at a time while catching up: one statement streams up to 16 pages in the background,
    /// and a page is handed over as soon as it is read. Default: 1,000. Larger pages live long enough to be promoted
    /// out of the GC's first generation (docs/subscriptions.md).</summary>
    public int PageSize { get; set; } = 1_000;

    /// <summary>A checkpoint is stored after at most this many handled rows, so a crash re-delivers at most
    /// this many. Default: 1,000.</summary>
    public int CheckpointEvery { get; set; } = 1_000;

    /// <summary>A checkpoint is also stored when this long has passed since the last one and rows were handled
    /// since. Default: 1 second.</summary>
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Shortest wait between two polls when the table has nothing new; the wait doubles up to
    /// <see cref="MaxPollInterval"/> while nothing comes, and a notification from the writer ends it at once.
    /// Default: 100 ms.</summary>
    public TimeSpan MinPollInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Longest wait between two polls: how late a row written without a notification (by another
    /// program, or whose notification was lost) can be seen. Default: 2 seconds.</summary>
    public TimeSpan MaxPollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How often an instance in <see cref="SubscriptionState.Standby"/> tries to take the name over.
    /// Default: 1 second.</summary>
    public TimeSpan LeaderRetryInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>First wait before reconnecting after a connection failure; doubles up to
    /// <see cref="MaxReconnectDelay"/>. Default: 200 ms.</summary>
    public TimeSpan ReconnectDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Longest wait between two reconnection attempts. Default: 5 seconds.</summary>
    public TimeSpan MaxReconnectDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long committed rows may wait behind an older open transaction before the subscription logs
    /// a warning naming that transaction (log id 38). Such rows are delivered when it ends, in order; the wait
    /// is also on the <c>rxeventbus.subscription.held_back</c> gauge. Default: 10 seconds.</summary>
    public TimeSpan HeldBackWarning { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Throws when a setting is out of range, naming it.</summary>
    /// <exception cref="ArgumentException">A setting is out of range or a topic pattern is invalid.</exception>
    public void Validate()
    {
        if (Name is not null && (Name.Length == 0 || Name.Length > 200))
        {
            throw new ArgumentException($"EventSubscriptionOptions.Name must be 1 to 200 characters, or null for an anonymous subscription; got '{Name}'.", nameof(Name));
        }

        ArgumentNullException.ThrowIfNull(Topics, nameof(Topics));
        ArgumentNullException.ThrowIfNull(From, nameof(From));
        _ = new TopicFilter(Topics);
        Positive(PageSize, nameof(PageSize));
        Positive(CheckpointEvery, nameof(CheckpointEvery));
        Positive(CheckpointInterval, nameof(CheckpointInterval));
        Positive(MinPollInterval, nameof(MinPollInterval));
        Positive(LeaderRetryInterval, nameof(LeaderRetryInterval));
        Positive(ReconnectDelay, nameof(ReconnectDelay));
        Positive(HeldBackWarning, nameof(HeldBackWarning));
        if (MaxPollInterval < MinPollInterval)
        {
            throw new ArgumentException($"EventSubscriptionOptions.MaxPollInterval ({MaxPollInterval}) must not be less than MinPollInterval ({MinPollInterval}).", nameof(MaxPollInterval));
        }

        if (MaxReconnectDelay < ReconnectDelay)
        {
            throw new ArgumentException($"EventSubscriptionOptions.MaxReconnectDelay ({MaxReconnectDelay}) must not be less than ReconnectDelay ({ReconnectDelay}).", nameof(MaxReconnectDelay));
        }
    }

    internal EventSubscriptionOptions Copy() => (EventSubscriptionOptions)MemberwiseClone();

    private static void Positive(int value, string name)
    {
        if (value < 1)
        {
            throw new ArgumentException($"EventSubscriptionOptions.{name} must be at least 1; got {value}.", name);
        }
    }

    private static void Positive(TimeSpan value, string name)
    {
        if (value <= TimeSpan.Zero)
        {
            throw new ArgumentException($"EventSubscriptionOptions.{name} must be positive; got {value}.", name);
        }
    }
}
