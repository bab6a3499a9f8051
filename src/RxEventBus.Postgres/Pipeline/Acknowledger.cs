using Microsoft.Extensions.Logging;
using RxEventBus.Postgres.Internal;

namespace RxEventBus.Postgres.Pipeline;

// The ack stage: the one place where what happened to an event becomes what everyone else sees — the answer on
// the bus (MarkCompleted after its commit, MarkSkipped once it is stored as a dead letter or dropped), the
// counters and instruments, the log, the DeadLetters stream and the outcome a PublishAsync caller awaits.
// An awaited outcome is settled before the bus is answered, so a caller never sees the bus done with an event
// whose outcome is still unknown.
internal sealed class Acknowledger(
    EventTable table,
    ConsumerCounters counters,
    ConsumerHealth health,
    DeadLetterWriter deadLetterWriter,
    PersistenceWaiters waiters,
    InFlight inFlight,
    ObserverList<DeadLetter> deadLetters,
    Action<Exception?> subscriptionEnded,
    ILogger logger) : IQueueListener
{
    // On the publisher's thread, inside Publish.
    public void Accepted(TrackedEvent delivery)
    {
        counters.Received();
        waiters.Accepted(delivery.Event);
    }

    public void Dropped(TrackedEvent delivery, string reason)
    {
        counters.Dropped();
        Log.EventDropped(logger, delivery.Event.Id, delivery.Event.Topic, reason);
        waiters.Failed(delivery.Event, PersistenceOutcome.Dropped, reason);
        delivery.TryMarkSkipped();
    }

    // The publisher gets an EventRejectedException, and the bus marks the event skipped for this subscriber.
    public void Refused(TrackedEvent delivery, string reason)
    {
        counters.Refused();
        Log.EventRefused(logger, delivery.Event.Id, delivery.Event.Topic, reason);
    }

    public void Ended(Exception? error) => subscriptionEnded(error);

    // After the write stage: committed rows are answered at once (they are durable); refused rows and the
    // mapper's dead letters are stored first, then answered.
    internal async Task BatchWrittenAsync(List<MappedEvent> batch, WriteResult result, CancellationToken cancellationToken)
    {
        List<PendingDeadLetter>? dead = null;
        var committed = 0;
        foreach (var mapped in batch)
        {
            if (mapped.DeadLetter is { } letter)
            {
                (dead ??= []).Add(new PendingDeadLetter(mapped.Delivery, mapped.Row.Data, letter, mapped.Row.Sequence));
                continue;
            }

            if (result.IsRefused(mapped.Row))
            {
                continue;
            }

            if (committed++ == 0)
            {
                // Before the first ack: whoever sees an event of this batch acknowledged sees the commit's time too.
                health.Committed();
            }

            waiters.Committed(mapped.Delivery.Event);

            // False only if the bus already skipped it for us (the subscription went away): nothing to do.
            mapped.Delivery.TryMarkCompleted();
        }

        if (committed != 0)
        {
            inFlight.Done(batch, mapped => mapped.DeadLetter is null && !result.IsRefused(mapped.Row), static mapped => mapped.Row.Sequence);
            counters.Committed(committed, result.Duplicates);
        }

        foreach (var refusal in result.Refused)
        {
            var @event = refusal.Row.Event;
            var letter = new DeadLetter(@event, $"Event {@event.Id} cannot be written: {refusal.Reason}.", refusal.Error, refusal.ErrorType);
            (dead ??= []).Add(new PendingDeadLetter(refusal.Row.Delivery, refusal.Row.Data, letter, refusal.Row.Sequence));
        }

        if (dead is not null)
        {
            await deadLetterWriter.StoreAsync(dead, cancellationToken).ConfigureAwait(false);
            inFlight.Done(dead, static _ => true, static letter => letter.Sequence);
            foreach (var (delivery, _, letter, _) in dead)
            {
                counters.DeadLettered();
                Log.DeadLetter(logger, letter.Exception, table.DeadLettersQualifiedName, letter.Reason);
                waiters.Failed(delivery.Event, PersistenceOutcome.DeadLettered, letter.Reason);
                delivery.TryMarkSkipped();
                deadLetters.OnNext(letter);
            }
        }
    }

    // The consumer stopped (or faulted) with these events accepted and not written: they stay pending on the
    // bus until it leaves it, and are listed in Unwritten.
    internal void Unwritten(IReadOnlyList<Event> events, string reason)
    {
        foreach (var @event in events)
        {
            Log.Unwritten(logger, @event.Id, @event.Topic);
            waiters.Failed(@event, PersistenceOutcome.Unwritten, reason);
        }
    }
}
