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
