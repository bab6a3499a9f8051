using System.Reactive;
using Microsoft.Reactive.Testing;

namespace RxEventBus.Testing;

/// <summary>
/// Turns recorded bus notifications into what a test can write down: payloads, or any projection. Works on
/// any recording — an <see cref="EventRecorder{T}"/>'s, or the observer that
/// <c>TestScheduler.Start(() =&gt; bus.Topic&lt;Order&gt;("orders"))</c> returns.
/// </summary>
public static class RecordedEvents
{
    /// <summary>Each event replaced by its payload; errors and completion kept, at their times.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="messages"/> is null.</exception>
    public static IList<Recorded<Notification<T>>> Data<T>(this IEnumerable<Recorded<Notification<Event<T>>>> messages) =>
        messages.Project(static e => e.Data);

    /// <summary>Each untyped event replaced by its payload; errors and completion kept, at their times.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="messages"/> is null.</exception>
    public static IList<Recorded<Notification<object>>> Data(this IEnumerable<Recorded<Notification<Event>>> messages) =>
        messages.Project(static e => e.Data);

    /// <summary>Each value replaced by <paramref name="selector"/>'s result; errors and completion kept, at their times.</summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public static IList<Recorded<Notification<TResult>>> Project<TSource, TResult>(
        this IEnumerable<Recorded<Notification<TSource>>> messages, Func<TSource, TResult> selector)
    {
        ArgumentNullException.ThrowIfNull(messages);
        ArgumentNullException.ThrowIfNull(selector);
        return [.. messages.Select(m => new Recorded<Notification<TResult>>(m.Time, Map(m.Value, selector)))];
    }

    private static Notification<TResult> Map<TSource, TResult>(Notification<TSource> notification, Func<TSource, TResult> selector) =>
        notification.Kind switch
        {
            NotificationKind.OnNext => Notification.CreateOnNext(selector(notification.Value)),
            NotificationKind.OnError => Notification.CreateOnError<TResult>(notification.Exception!),
            _ => Notification.CreateOnCompleted<TResult>(),
        };
}
