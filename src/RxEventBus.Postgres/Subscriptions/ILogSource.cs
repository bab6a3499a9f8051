using RxEventBus.Postgres.Internal;

namespace RxEventBus.Postgres.Subscriptions;

// What a subscription needs from the database, so that its loop (EventSubscription.ReadAsync) can be driven in
// virtual time by a fake. PostgresLogSource is the real one.
internal interface ILogSource
{
    // Where the rows live, for messages.
    string Table { get; }

    // A connection that reads (and, for a named subscription, one that holds the name and stores checkpoints).
    // Throws when the table cannot be read at all.
    Task<ILogSession> OpenAsync(CancellationToken cancellationToken);

    // Calls `wake` whenever new rows may have been committed (the writer's NOTIFY) and whenever listening
    // (re)starts, since a notification sent while nobody listened is lost. A failed listener reconnects with
    // `retry`'s backoff. Disposing stops listening.
    IDisposable Listen(Action wake, RetryPolicy retry);
}

internal interface ILogSession : IAsyncDisposable
{
    // True when this session now holds the subscription name (a session-level advisory lock that the server
    // releases when the connection ends, however it ends).
    Task<bool> TryLeadAsync(string name, CancellationToken cancellationToken);

    Task<LogPosition?> LoadCheckpointAsync(string name, CancellationToken cancellationToken);

    Task StoreCheckpointAsync(string name, LogPosition position, CancellationToken cancellationToken);

    // Just before the first row not yet ended: (fence − 1, long.MaxValue).
    Task<LogPosition> EndAsync(CancellationToken cancellationToken);

    Task<LogPage> ReadPageAsync(LogPosition after, int limit, TopicFilter topics, CancellationToken cancellationToken);

    // The oldest transaction holding an xid, in words (pid, database, user, age, state): what holds the fence.
    Task<string> DescribeFenceHolderAsync(CancellationToken cancellationToken);
}
