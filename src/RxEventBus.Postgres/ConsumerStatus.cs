namespace RxEventBus.Postgres;

/// <summary>A snapshot of a <see cref="PostgresConsumer"/>'s health, for health checks, dashboards and logs.</summary>
/// <param name="State">Where the consumer is.</param>
/// <param name="Reason">Why it is <see cref="ConsumerState.Degraded"/>, <see cref="ConsumerState.Faulted"/> or
/// <see cref="ConsumerState.Stopped"/>, in words; null while it runs normally.</param>
/// <param name="Error">The error behind <paramref name="Reason"/>, if any.</param>
/// <param name="Since">When it entered <paramref name="State"/> (or its reason last changed), on the bus's scheduler.</param>
/// <param name="LastCommitAt">When a batch last committed, on the bus's scheduler; null before the first.</param>
public sealed record ConsumerStatus(
    ConsumerState State,
    string? Reason,
    Exception? Error,
    DateTimeOffset Since,
    DateTimeOffset? LastCommitAt);
