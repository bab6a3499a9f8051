using System.Reactive;
using Microsoft.Reactive.Testing;

namespace RxEventBus.Testing;

/// <summary>
/// A base class for virtual-time test classes: Rx's <see cref="ReactiveTest"/> (<c>OnNext(210, x)</c> in ticks,
/// <c>Subscribed</c>, <c>Disposed</c>), plus the same factories taking a <see cref="TimeSpan"/>, so a test that
/// publishes with <see cref="TestEventBus.PublishAt{T}(TimeSpan, string, T)"/> and advances with
/// <see cref="TestEventBus.AdvanceTo(TimeSpan)"/> writes its expectations in the same unit:
/// <c>reminders.Data.AssertEqual(OnNext(TimeSpan.FromMinutes(31), new PaymentReminder(1)))</c>.
/// </summary>
/// <remarks>A <see cref="TimeSpan"/> is counted from the scheduler's start: <c>OnNext(TimeSpan.FromMinutes(31), x)</c>
/// is <c>OnNext(TimeSpan.FromMinutes(31).Ticks, x)</c>. Test classes that do not derive from a base class of
/// their framework can use it; others reach the factories as <c>VirtualTimeTest.OnNext(…)</c>.</remarks>
public abstract class VirtualTimeTest : ReactiveTest
{
    /// <summary>An <c>OnNext</c> of <paramref name="value"/> at virtual time <paramref name="time"/>.</summary>
    /// <param name="time">When, counted from the scheduler's start.</param>
    /// <param name="value">The value (for a recorder's <c>Data</c>, the payload).</param>
    /// <typeparam name="T">The value's type.</typeparam>
    public static Recorded<Notification<T>> OnNext<T>(TimeSpan time, T value) => OnNext(time.Ticks, value);

    /// <summary>An <c>OnCompleted</c> at virtual time <paramref name="time"/>.</summary>
    /// <param name="time">When, counted from the scheduler's start.</param>
    /// <typeparam name="T">The sequence's element type.</typeparam>
    public static Recorded<Notification<T>> OnCompleted<T>(TimeSpan time) => OnCompleted<T>(time.Ticks);

    /// <summary>An <c>OnError</c> with <paramref name="exception"/> at virtual time <paramref name="time"/>.</summary>
    /// <param name="time">When, counted from the scheduler's start.</param>
    /// <param name="exception">The error.</param>
    /// <typeparam name="T">The sequence's element type.</typeparam>
    public static Recorded<Notification<T>> OnError<T>(TimeSpan time, Exception exception) => OnError<T>(time.Ticks, exception);
}
