namespace RxEventBus.Postgres;

/// <summary>Where a <see cref="PostgresConsumer"/> is in its life; see <see cref="PostgresConsumer.Status"/>.</summary>
public enum ConsumerState
{
    /// <summary>Built; <see cref="PostgresConsumer.StartAsync"/> has not been called.</summary>
    Created,

    /// <summary>Subscribed to the bus and writing; the last attempt of every writer succeeded.</summary>
    Running,

    /// <summary>
    /// Still subscribed and holding every accepted event, but writes are failing and being retried with
    /// backoff: the database is unreachable or restarting (it will likely pass), or something only a person
    /// can fix, such as a missing column or a revoked grant (<see cref="ConsumerStatus.Reason"/> says which).
    /// Returns to <see cref="Running"/> on the next successful write.
    /// </summary>
    Degraded,

    /// <summary><see cref="PostgresConsumer.StopAsync"/> is draining the buffer; new events are refused.</summary>
    Stopping,

    /// <summary>Stopped: by <see cref="PostgresConsumer.StopAsync"/>, or because the bus ended the subscription (it was disposed).</summary>
    Stopped,

    /// <summary>
    /// Ended by a fault it cannot recover from — the bus ended its subscription with an error, the events table
    /// does not match what the consumer writes, or the pipeline itself failed. New events are refused;
    /// <see cref="PostgresConsumer.Completion"/> is faulted with the error.
    /// </summary>
    Faulted,
}
