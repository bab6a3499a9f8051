using Microsoft.Reactive.Testing;

namespace RxEventBus.Testing;

/// <summary>
/// A <see cref="TestScheduler"/> whose clock reads the Unix epoch (1970-01-01T00:00:00Z) at tick 0, so that
/// the times the bus stamps in a virtual-time test are times a UUIDv7 id can carry: an event published at
/// virtual time <c>t</c> has <see cref="Event.OccurredAt"/> = epoch + <c>t</c>, and its default id encodes that
/// millisecond, so ids of events published at later virtual times sort after earlier ones.
/// </summary>
/// <remarks>
/// <para>Only the clock's reading moves: ticks are counted exactly as on any <see cref="TestScheduler"/>
/// (<c>OnNext(210, x)</c>, <c>Messages</c>' times, <c>AdvanceTo(ticks)</c>, <c>Start()</c> creating at 100,
/// subscribing at 200 and disposing at 1000), and <see cref="System.Reactive.Concurrency.IScheduler.Now"/> is
/// <see cref="DateTimeOffset.UnixEpoch"/> plus <c>Clock</c> ticks.</para>
/// <para>A plain <see cref="TestScheduler"/> starts at 0001-01-01. UUIDv7 cannot encode a time before 1970, so
/// the bus's default id generator makes ids of the epoch itself for every such time: still valid and unique,
/// but in no time order. <see cref="TestEventBus(string[])"/> runs on this scheduler for that reason.</para>
/// </remarks>
public sealed class UnixEpochTestScheduler : TestScheduler
{
    /// <summary>The clock's reading at virtual time <paramref name="absolute"/>: the Unix epoch plus that many ticks.</summary>
    /// <param name="absolute">A virtual time, in ticks since the scheduler's start.</param>
    protected override DateTimeOffset ToDateTimeOffset(long absolute) => DateTimeOffset.UnixEpoch.AddTicks(absolute);
}
