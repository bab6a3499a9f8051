using System.Reactive;
using System.Reactive.Concurrency;
using Microsoft.Reactive.Testing;
using RxEventBus.Tests.Support;

namespace RxEventBus.Tests;

// Tracked(name, patterns): the seed's subscribers with their observation manager. The bus keeps each event
// until every tracked subscriber of its topic has marked it completed or skipped, then drops it.
public sealed class TrackedSubscriberTests : ReactiveTest
{
    [Fact]
    public void Tracked_EventPublished_KeepsItUntilEveryTrackedSubscriberAnswersThenDropsIt()
    {
        var scheduler = new TestScheduler();
        using var bus = TestBus.Create(scheduler, "orders");
        var mailer = scheduler.CreateObserver<TrackedEvent>();
        var auditor = scheduler.CreateObserver<TrackedEvent>();
        var mailerSubscription = bus.Tracked("mailer", "^orders$").Subscribe(mailer);
        var auditorSubscription = bus.Tracked("auditor", ".*").Subscribe(auditor);
        scheduler.AdvanceTo(300);

        var published = bus.Publish("orders", "order #1");

        var toMailer = mailer.Messages.Should().ContainSingle().Which.Value.Value;
        var toAuditor = auditor.Messages.Should().ContainSingle().Which.Value.Value;
        toMailer.Event.Should().BeSameAs(published, "because a tracked subscriber receives the event itself");
        toMailer.Subscriber.Should().Be("mailer", "because each delivery knows whom it is for");
        toAuditor.Subscriber.Should().Be("auditor");
        bus.FetchEvent("orders", published.Id).Should().BeSameAs(published, "because nobody has answered yet");
        bus.FetchEventData("orders", published.Id).Should().Be("order #1");
        var pending = bus.Pending("orders").Should().ContainSingle().Which;
        pending.Event.Should().BeSameAs(published);
        pending.Subscribers.Should().Equal(["mailer", "auditor"], "because the pending entry lists who received the event");
        pending.Completers.Should().BeEmpty("because nobody has answered yet");
        pending.Skippers.Should().BeEmpty();

        toMailer.MarkCompleted();

        toMailer.IsAnswered.Should().BeTrue();
        toAuditor.IsAnswered.Should().BeFalse("because each subscriber answers for itself");
        bus.FetchEvent("orders", published.Id).Should().BeSameAs(published, "because the auditor still owes an answer");
        bus.Pending("orders").Should().ContainSingle().Which.Completers.Should().Equal(["mailer"]);

        toAuditor.MarkSkipped();

        bus.FetchEvent("orders", published.Id).Should().BeNull("because every tracked subscriber answered, so the bus dropped it");
        bus.FetchEventData("orders", published.Id).Should().BeNull();
        bus.Pending("orders").Should().BeEmpty();
        bus.Diagnostics.PendingEvents.Should().Be(0);
        mailerSubscription.Dispose();
        auditorSubscription.Dispose();
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void BusMarkCompletedAndMarkSkipped_BySubscriberTopicAndId_AnswerLikeTheTrackedEvent()
    {
        var scheduler = new TestScheduler();
        using var bus = TestBus.Create(scheduler, "orders");
        var mailer = bus.Tracked("mailer", "orders").Subscribe(_ => { });
        var auditor = bus.Tracked("auditor", "orders").Subscribe(_ => { });
        var archiver = bus.Tracked("archiver", "orders").Subscribe(_ => { });
        var published = bus.Publish("orders", 1);

        bus.MarkCompleted("mailer", "orders", published.Id);
        bus.MarkSkipped("auditor", "orders", published.Id);

        var pending = bus.Pending("orders").Should().ContainSingle().Which;
        pending.Completers.Should().Equal(
            ["mailer"], "because the seed's mark_as_completed({subscriber, topic, id}) answers for the named subscriber");
        pending.Skippers.Should().Equal(["auditor"], "because mark_as_skipped does the same for skipping");

        bus.MarkCompleted("archiver", "orders", published.Id);

        bus.FetchEvent("orders", published.Id).Should().BeNull("because the last answer drops the event");
        foreach (var subscription in new[] { mailer, auditor, archiver })
        {
            subscription.Dispose();
        }

        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void Publish_PlainSubscribersOnly_CreatesNoPendingEntries()
    {
        using var bus = TestBus.Create(new TestScheduler(), "orders");
        var received = new List<Event>();
        using var topic = bus.Topic("orders").Subscribe(received.Add);
        using var pattern = bus.Match(".*").Subscribe(received.Add);

        var published = bus.Publish("orders", 1);

        received.Should().HaveCount(2, "because both plain subscribers received it");
        bus.Diagnostics.PendingEvents.Should().Be(0, "because only tracked subscribers make the bus keep an event");
        bus.FetchEvent("orders", published.Id).Should().BeNull();
        bus.Pending("orders").Should().BeEmpty();
        topic.Dispose();
        pattern.Dispose();
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void Publish_TrackedSubscriberOnAnotherTopic_CreatesNoPendingEntry()
    {
        using var bus = TestBus.Create(new TestScheduler(), "orders", "payments");
        using var tracked = bus.Tracked("auditor", "^orders$").Subscribe(_ => { });

        var published = bus.Publish("payments", 1);

        bus.FetchEvent("payments", published.Id).Should().BeNull("because payments has no tracked subscriber to wait for");
        bus.Diagnostics.PendingEvents.Should().Be(0);
        tracked.Dispose();
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void Tracked_PatternFoundOnlyInsideTheName_NeitherDeliversNorKeepsTheEvent()
    {
        using var bus = TestBus.Create(new TestScheduler(), "received", "metrics_received");
        var delivered = new List<TrackedEvent>();
        using var tracked = bus.Tracked("auditor", "received").Subscribe(delivered.Add);

        var inside = bus.Publish("metrics_received", 1);
        var atStart = bus.Publish("received", 2);

        delivered.Select(e => e.Event).Should().Equal(
            [atStart], "because a tracked subscriber's patterns match at the start of the name, as Match's do");
        bus.FetchEvent("metrics_received", inside.Id).Should().BeNull("because no tracked subscriber owes an event it never received");
        bus.Subscribers().Single().Topics.Should().Equal(["received"]);
        delivered[0].MarkCompleted();
        tracked.Dispose();
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void Tracked_AnswersFromInsideOnNext_EventDroppedBeforePublishReturns()
    {
        using var bus = TestBus.Create(new TestScheduler(), "orders");
        using var tracked = bus.Tracked("auditor", "orders").Subscribe(e => e.MarkCompleted());

        var published = bus.Publish("orders", 1);

        bus.FetchEvent("orders", published.Id).Should().BeNull("because the event is stored before delivery, so an answer inside OnNext finds it");
        bus.Diagnostics.PendingEvents.Should().Be(0);
        tracked.Dispose();
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void Tracked_SubscriberThrowsInOnNext_CountsAsSkippedAndIsReported()
    {
        using var bus = TestBus.Create(new TestScheduler(), "orders");
        var errors = new List<EventBusError>();
        using var errorSubscription = bus.Errors.Subscribe(errors.Add);
        var boom = new InvalidOperationException("mail server down");
        var flaky = bus.Tracked("flaky", "orders").Subscribe(_ => throw boom);
        var answers = new List<TrackedEvent>();
        var auditor = bus.Tracked("auditor", "orders").Subscribe(answers.Add);

        var published = bus.Publish("orders", 1);

        var pending = bus.Pending("orders").Should().ContainSingle().Which;
        pending.Skippers.Should().Equal(["flaky"], "because the seed counts an event whose tracked subscriber failed as skipped by it");
        pending.Completers.Should().BeEmpty();
        answers.Should().ContainSingle("because the other tracked subscriber still received the event");
        var error = errors.Should().ContainSingle().Which;
        error.Origin.Should().Be(EventBusErrorOrigin.Subscriber);
        error.Subscriber!.Name.Should().Be("flaky", "because the report says which subscriber failed");
        error.Event.Should().BeSameAs(published);
        error.Exception.Should().BeSameAs(boom);

        answers[0].MarkCompleted();

        bus.FetchEvent("orders", published.Id).Should().BeNull("because the failure already counted as flaky's answer");
        flaky.Dispose();
        auditor.Dispose();
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void Dispose_TrackedSubscriptionOwingEvents_SkipsThemSoTheyAreDropped()
    {
        using var bus = TestBus.Create(new TestScheduler(), "orders", "payments");
        var mailerAnswers = new List<TrackedEvent>();
        var mailer = bus.Tracked("mailer", "orders").Subscribe(mailerAnswers.Add);
        var auditor = bus.Tracked("auditor", ".*").Subscribe(_ => { });
        var order = bus.Publish("orders", 1);
        var payment = bus.Publish("payments", 2);

        auditor.Dispose();

        bus.Pending("orders").Should().ContainSingle().Which.Skippers.Should().Equal(
            ["auditor"], "because a departed tracked subscriber skips what it owed");
        bus.FetchEvent("payments", payment.Id).Should().BeNull("because the auditor was the only one owing the payment");
        mailerAnswers.Should().ContainSingle().Which.MarkCompleted();
        bus.FetchEvent("orders", order.Id).Should().BeNull("because nobody owes the order any more");
        bus.Diagnostics.PendingEvents.Should().Be(0);
        mailer.Dispose();
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void Unsubscribe_LiveTrackedSubscriber_CompletesItSkipsWhatItOwesAndFreesItsName()
    {
        var scheduler = new TestScheduler();
        using var bus = TestBus.Create(scheduler, "orders", "payments");
        var auditor = scheduler.CreateObserver<TrackedEvent>();
        var mailerAnswers = new List<TrackedEvent>();
        var auditorSubscription = bus.Tracked("auditor", ".*").Subscribe(auditor);
        var mailer = bus.Tracked("mailer", "orders").Subscribe(mailerAnswers.Add);
        scheduler.AdvanceTo(300);
        var order = bus.Publish("orders", 1);
        var payment = bus.Publish("payments", 2);
        scheduler.AdvanceTo(400);

        var unsubscribed = bus.Unsubscribe("auditor");
        bus.Publish("orders", 3);

        unsubscribed.Should().BeTrue("because a live tracked subscriber had that name");
        auditor.Messages.Select(m => (m.Time, m.Value.Kind)).Should().Equal(
            [(300, NotificationKind.OnNext), (300, NotificationKind.OnNext), (400, NotificationKind.OnCompleted)],
            "because Unsubscribe completes the subscriber, which receives nothing after");
        bus.IsSubscribed("auditor").Should().BeFalse();
        bus.FetchEvent("payments", payment.Id).Should().BeNull("because the auditor alone owed the payment, and skipped it on leaving");
        bus.Pending("orders").Where(p => p.Event.Id == order.Id).Should().ContainSingle()
            .Which.Skippers.Should().Equal(["auditor"], "because it skips what it owed, exactly as disposing it would");

        var successor = scheduler.CreateObserver<TrackedEvent>();
        using var successorSubscription = bus.Tracked("auditor", ".*").Subscribe(successor);
        auditorSubscription.Dispose();

        bus.IsSubscribed("auditor").Should().BeTrue(
            "because the name was free at once, and disposing the ended subscription does nothing to its successor");
        auditor.Messages.Should().HaveCount(3, "because disposing the ended subscription sends nothing more");
        var later = bus.Publish("payments", 4);
        successor.Messages.Should().ContainSingle().Which.Value.Value.Event.Should().BeSameAs(later);
        successor.Messages[0].Value.Value.MarkCompleted();
        foreach (var answer in mailerAnswers)
        {
            answer.MarkCompleted();
        }

        bus.Diagnostics.PendingEvents.Should().Be(0);
        mailer.Dispose();
        successorSubscription.Dispose();
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void Unsubscribe_NoLiveTrackedSubscriberOfThatName_ReturnsFalseAndChangesNothing()
    {
        using var bus = TestBus.Create(new TestScheduler(), "orders");
        bus.Tracked("departed", ".*").Subscribe(_ => { }).Dispose();
        var received = new List<TrackedEvent>();
        using var auditor = bus.Tracked("auditor", ".*").Subscribe(received.Add);
        using var plain = bus.Match(".*").Subscribe(_ => { });

        bus.Unsubscribe("nobody").Should().BeFalse("because no tracked subscriber has that name");
        bus.Unsubscribe("departed").Should().BeFalse("because that subscriber was disposed already");
        bus.Unsubscribe("Auditor").Should().BeFalse("because names are compared exactly");

        bus.Invoking(b => b.Unsubscribe(null!)).Should().Throw<ArgumentNullException>();
        bus.Diagnostics.LiveSubscriptions.Should().Be(2, "because a failed Unsubscribe ends nothing");
        bus.Publish("orders", 1);
        received.Should().ContainSingle("because the auditor still receives").Which.MarkCompleted();
        auditor.Dispose();
        plain.Dispose();
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void IsSubscribed_TrackedSubscriberLifetime_TrueExactlyWhileItLives()
    {
        var bus = TestBus.Create(new TestScheduler(), "orders");
        var auditor = bus.Tracked("auditor", "orders");

        var beforeSubscribe = bus.IsSubscribed("auditor");
        var subscription = auditor.Subscribe(_ => { });
        var whileSubscribed = bus.IsSubscribed("auditor");
        subscription.Dispose();
        var afterDispose = bus.IsSubscribed("auditor");
        var again = auditor.Subscribe(_ => { });
        bus.Dispose();

        beforeSubscribe.Should().BeFalse("because making the observable subscribes nothing");
        whileSubscribed.Should().BeTrue();
        afterDispose.Should().BeFalse("because a disposed subscriber is gone");
        bus.IsSubscribed("auditor").Should().BeFalse("because a disposed bus ended every subscriber");
        bus.IsSubscribed("mailer").Should().BeFalse("because nothing ever had that name");
        bus.Invoking(b => b.IsSubscribed(null!)).Should().Throw<ArgumentNullException>();
        again.Dispose();
    }

    [Fact]
    public async Task Unsubscribe_SubscriberBlockedInOnNext_ReturnsAtOnceSkipsWhatItOwesAndCompletesItOnceTheOnNextEnds()
    {
        using var bus = TestBus.Create(new TestScheduler(), "orders");
        using var observer = new GatedObserver<TrackedEvent>();
        var subscription = bus.Tracked("persistence", ".*").Subscribe(observer);

        await observer.EndWhileBlockedAsync(
            () => bus.Publish("orders", 1),
            () => bus.Unsubscribe("persistence"),
            unsubscribed =>
            {
                unsubscribed.Should().BeTrue();
                bus.IsSubscribed("persistence").Should().BeFalse("because Unsubscribe did its work without waiting for the blocked subscriber");
                bus.Diagnostics.PendingEvents.Should().Be(0, "because it skipped the event it was still handling, as disposing it would");
            },
            TimeSpan.FromSeconds(10));

        observer.ShouldHaveCompletedOnceAfterItsOnNext("because the completion comes once, after the OnNext it waited for");
        subscription.Dispose();
        observer.Log.Should().HaveCount(3, "because disposing the ended subscription sends nothing more");
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void Tracked_DuplicateName_EndsSecondSubscriptionWithInvalidOperationAndKeepsTheFirst()
    {
        var scheduler = new TestScheduler();
        using var bus = TestBus.Create(scheduler, "orders");
        var first = scheduler.CreateObserver<TrackedEvent>();
        var second = scheduler.CreateObserver<TrackedEvent>();
        var firstSubscription = bus.Tracked("auditor", "orders").Subscribe(first);
        scheduler.AdvanceTo(300);

        var secondSubscription = bus.Tracked("auditor", ".*").Subscribe(second);

        second.Messages.Should().ContainSingle().Which.Should().Match<Recorded<System.Reactive.Notification<TrackedEvent>>>(
            m => m.Time == 300 && m.Value.Exception is InvalidOperationException,
            "because names identify tracked subscribers when they answer, so a second one is refused at once");
        second.Messages[0].Value.Exception!.Message.Should().Contain("'auditor'", "because the message names the duplicate");
        bus.Diagnostics.LiveSubscriptions.Should().Be(1, "because the refused subscription was never kept");

        var published = bus.Publish("orders", 1);

        first.Messages.Should().ContainSingle("because the first subscriber is untouched").Which.Value.Value.Event.Should().BeSameAs(published);
        secondSubscription.Dispose();
        firstSubscription.Dispose();
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void Tracked_NameOfDisposedSubscriber_CanBeUsedAgain()
    {
        var scheduler = new TestScheduler();
        using var bus = TestBus.Create(scheduler, "orders");
        bus.Tracked("auditor", "orders").Subscribe(_ => { }).Dispose();
        var again = scheduler.CreateObserver<TrackedEvent>();

        using (bus.Tracked("auditor", "orders").Subscribe(again))
        {
            var published = bus.Publish("orders", 1);
            again.Messages.Should().ContainSingle("because the name was freed by the dispose")
                .Which.Value.Value.Event.Should().BeSameAs(published);
            again.Messages[0].Value.Value.MarkCompleted();
        }

        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void Tracked_TopicRegisteredAfterSubscribing_ReceivesAndTracksIt()
    {
        var scheduler = new TestScheduler();
        using var bus = TestBus.Create(scheduler);
        Event? published = null;
        IReadOnlyList<PendingEvent> pendingAt500 = [];
        scheduler.ScheduleAbsolute(300, () => bus.RegisterTopic("purchase_made"));
        scheduler.ScheduleAbsolute(400, () => published = bus.Publish("purchase_made", 1));
        scheduler.ScheduleAbsolute(500, () => pendingAt500 = bus.Pending("purchase_made"));

        var observer = scheduler.Start(() => bus.Tracked("auditor", "purchase_"));

        observer.Messages.Should().ContainSingle().Which.Time.Should().Be(400);
        pendingAt500.Should().ContainSingle().Which.Subscribers.Should().Equal(
            ["auditor"], "because the event waited for the auditor's answer while it was subscribed");
        bus.FetchEvent("purchase_made", published!.Id).Should().BeNull(
            "because the auditor was disposed at 1000 without answering, which skipped the event");
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void UnregisterTopic_WithPendingEvent_EventStaysPendingUntilAnswered()
    {
        using var bus = TestBus.Create(new TestScheduler(), "orders");
        var answers = new List<TrackedEvent>();
        using var tracked = bus.Tracked("auditor", "orders").Subscribe(answers.Add);
        var published = bus.Publish("orders", 1);

        bus.UnregisterTopic("orders");

        bus.FetchEvent("orders", published.Id).Should().BeSameAs(published, "because pending events outlive their topic's registration");
        bus.MarkCompleted("auditor", "orders", published.Id);
        bus.FetchEvent("orders", published.Id).Should().BeNull("because its only tracked subscriber answered");
        tracked.Dispose();
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void Dispose_BusWithPendingEvent_EventStaysReadableAndAnswerable()
    {
        var bus = TestBus.Create(new TestScheduler(), "orders");
        var answers = new List<TrackedEvent>();
        var tracked = bus.Tracked("auditor", "orders").Subscribe(answers.Add);
        var published = bus.Publish("orders", 1);

        bus.Dispose();

        bus.FetchEvent("orders", published.Id).Should().BeSameAs(published, "because disposing the bus does not lose what a subscriber still owes");
        answers.Should().ContainSingle().Which.MarkCompleted();
        bus.FetchEvent("orders", published.Id).Should().BeNull();
        tracked.Dispose();
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }
}
