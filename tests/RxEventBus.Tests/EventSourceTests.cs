using Microsoft.Reactive.Testing;
using RxEventBus.Tests.Support;

namespace RxEventBus.Tests;

// EventSource.Build / Notify / NotifyAsync (the seed's EventSource.build and notify): they time the code that
// produces an event's data, stamp the envelope, and route a failure to an error topic.
public sealed class EventSourceTests
{
    private static readonly DateTimeOffset Noon = new(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan WorkTime = TimeSpan.FromMilliseconds(250);

    [Fact]
    public void Build_SchedulerAdvancedInsideFunction_InitializedBeforeAndOccurredAfter()
    {
        var scheduler = AtNoon();
        using var bus = TestBus.Create(scheduler, "orders");

        var @event = bus.Build("orders", () =>
        {
            scheduler.AdvanceBy(WorkTime.Ticks);
            return "order #1";
        });

        @event.InitializedAt.Should().Be(Noon, "because InitializedAt is read before the function runs");
        @event.OccurredAt.Should().Be(Noon + WorkTime, "because OccurredAt is read after the function returns");
        @event.Duration.Should().Be(WorkTime, "because the two stamps bracket the function's run");
        @event.Topic.Should().Be("orders");
        @event.Data.Should().Be("order #1");
    }

    [Fact]
    public void Notify_FailsAndErrorTopicNotRegistered_ThrowsBothFailuresInsteadOfLosingOne()
    {
        using var bus = TestBus.Create(AtNoon(), "orders");
        var original = new InvalidOperationException("card declined");

        var act = () => bus.Notify<string>("orders", () => throw original, new EventSourceParams { ErrorTopic = "not_registered" });

        var thrown = act.Should().Throw<AggregateException>().Which;
        thrown.InnerExceptions.Should().HaveCount(2);
        thrown.InnerExceptions[0].Should().BeSameAs(original, "the caller still sees why the function failed");
        thrown.InnerExceptions[1].Should().BeOfType<TopicNotRegisteredException>("and why its failure event could not be published");
    }

    [Fact]
    public void Build_Succeeds_PublishesNothing()
    {
        using var bus = TestBus.Create(AtNoon(), "orders");
        var received = new List<Event>();
        using var subscription = bus.Match(".*").Subscribe(received.Add);

        bus.Build("orders", () => 1);

        received.Should().BeEmpty("because Build only builds; the caller decides when to publish");
        subscription.Dispose();
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void Build_NoParams_TakesIdSourceAndTtlFromOptions()
    {
        var scheduler = AtNoon();
        var id = Guid.NewGuid();
        var generatorTimes = new List<DateTimeOffset>();
        using var bus = new EventBus(new EventBusOptions
        {
            Scheduler = scheduler,
            Topics = ["orders"],
            DefaultSource = "checkout",
            DefaultTtl = TimeSpan.FromDays(30),
            IdGenerator = now =>
            {
                generatorTimes.Add(now);
                return id;
            },
        });

        var @event = bus.Build("orders", () =>
        {
            scheduler.AdvanceBy(WorkTime.Ticks);
            return 1;
        });

        @event.Id.Should().Be(id, "because the id comes from EventBusOptions.IdGenerator when none is given");
        generatorTimes.Should().Equal([Noon + WorkTime], "because the id is made for the time the data occurred");
        @event.Source.Should().Be("checkout", "because the source defaults to EventBusOptions.DefaultSource");
        @event.Ttl.Should().Be(TimeSpan.FromDays(30), "because the ttl defaults to EventBusOptions.DefaultTtl");
        @event.TransactionId.Should().Be(id, "because an event built without a transaction is its own one, as in event_bus's EventSource");
    }

    [Fact]
    public void Build_WithParams_ParamsOverrideOptions()
    {
        using var bus = new EventBus(new EventBusOptions
        {
            Scheduler = AtNoon(),
            Topics = ["orders"],
            DefaultSource = "checkout",
            DefaultTtl = TimeSpan.FromDays(30),
        });
        var parameters = new EventSourceParams
        {
            Id = Guid.NewGuid(),
            TransactionId = Guid.NewGuid(),
            Source = "back-office",
            Ttl = TimeSpan.FromHours(1),
        };

        var @event = bus.Build("orders", () => 1, parameters);

        @event.Should().BeEquivalentTo(
            new { parameters.Id, parameters.TransactionId, Source = "back-office", Ttl = TimeSpan.FromHours(1) },
            "because what EventSourceParams gives wins over the bus's defaults");
    }

    [Fact]
    public void Notify_Succeeds_PublishesTheStampedEventAndReturnsTheData()
    {
        var scheduler = AtNoon();
        using var bus = TestBus.Create(scheduler, "orders");
        var received = new List<Event>();
        using var subscription = bus.Topic("orders").Subscribe(received.Add);
        var transaction = Guid.NewGuid();

        var result = bus.Notify(
            "orders",
            () =>
            {
                scheduler.AdvanceBy(WorkTime.Ticks);
                return "order #1";
            },
            new EventSourceParams { TransactionId = transaction });

        result.Should().Be("order #1", "because Notify hands the produced data back to its caller");
        var published = received.Should().ContainSingle("because Notify publishes the event").Which;
        published.Data.Should().Be("order #1");
        published.InitializedAt.Should().Be(Noon);
        published.OccurredAt.Should().Be(Noon + WorkTime, "because Notify stamps like Build");
        published.TransactionId.Should().Be(transaction);
        subscription.Dispose();
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void Notify_NoTransactionId_PublishesAnEventThatIsItsOwnTransaction()
    {
        using var bus = TestBus.Create(AtNoon(), "orders");
        var received = new List<Event>();
        using var subscription = bus.Topic("orders").Subscribe(received.Add);

        bus.Notify("orders", () => "order #1");

        var published = received.Should().ContainSingle().Which;
        published.TransactionId.Should().Be(
            published.Id, "because event_bus's EventSource takes the event's id as its transaction id when none is given");
        subscription.Dispose();
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public async Task NotifyAsync_NoTransactionId_PublishesAnEventThatIsItsOwnTransaction()
    {
        using var bus = TestBus.Create(AtNoon(), "orders");
        var received = new List<Event>();
        using var subscription = bus.Topic("orders").Subscribe(received.Add);

        await bus.NotifyAsync("orders", _ => Task.FromResult("order #1")).WaitAsync(TimeSpan.FromSeconds(10));

        var published = received.Should().ContainSingle().Which;
        published.TransactionId.Should().Be(published.Id, "because the async form stamps like the others");
        subscription.Dispose();
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void Notify_FunctionThrowsWithErrorTopicAndNoTransactionId_FailureEventIsItsOwnTransaction()
    {
        using var bus = TestBus.Create(AtNoon(), "orders", "errors");
        var onErrors = new List<Event>();
        using var errors = bus.Topic("errors").Subscribe(onErrors.Add);

        var act = () => bus.Notify<string>(
            "orders", () => throw new InvalidOperationException("payment declined"), new EventSourceParams { ErrorTopic = "errors" });

        act.Should().Throw<InvalidOperationException>();
        var failure = onErrors.Should().ContainSingle().Which;
        failure.TransactionId.Should().Be(
            failure.Id, "because the failure event is stamped like the event it replaces: without a transaction, its own id");
        errors.Dispose();
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void Notify_FunctionThrowsWithErrorTopic_PublishesEventFailureThenRethrowsTheSameException()
    {
        var scheduler = AtNoon();
        using var bus = TestBus.Create(scheduler, "orders", "errors");
        var onOrders = new List<Event>();
        var onErrors = new List<Event>();
        using var orders = bus.Topic("orders").Subscribe(onOrders.Add);
        using var errors = bus.Topic("errors").Subscribe(onErrors.Add);
        var boom = new InvalidOperationException("payment declined");
        var transaction = Guid.NewGuid();

        var act = () => bus.Notify<string>(
            "orders",
            () =>
            {
                scheduler.AdvanceBy(WorkTime.Ticks);
                throw boom;
            },
            new EventSourceParams { ErrorTopic = "errors", TransactionId = transaction, Source = "checkout" });

        act.Should().Throw<InvalidOperationException>("because the caller must still see its failure")
            .Which.Should().BeSameAs(boom, "because the original exception is rethrown, not wrapped");
        onOrders.Should().BeEmpty("because no data was produced for orders");
        var failure = onErrors.Should().ContainSingle("because the failure is published to the error topic").Which;
        failure.Data.Should().BeOfType<EventFailure>().Which.Should().BeEquivalentTo(
            new EventFailure("orders", typeof(InvalidOperationException).FullName!, "payment declined") { Exception = boom },
            "because the failure says which topic failed, with what, and carries the exception in process");
        failure.Should().BeEquivalentTo(
            new { Topic = "errors", TransactionId = transaction, Source = "checkout", InitializedAt = Noon, OccurredAt = Noon + WorkTime },
            "because the error event is stamped like the event it replaces");
        orders.Dispose();
        errors.Dispose();
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void Build_FunctionThrowsWithErrorTopic_ReturnsTheErrorEventUnpublished()
    {
        using var bus = TestBus.Create(AtNoon(), "orders", "errors");
        var received = new List<Event>();
        using var subscription = bus.Match(".*").Subscribe(received.Add);

        var @event = bus.Build<string>(
            "orders", () => throw new InvalidOperationException("payment declined"), new EventSourceParams { ErrorTopic = "errors" });

        @event.Topic.Should().Be("errors", "because Build returns the error event instead of throwing");
        @event.Data.Should().BeOfType<EventFailure>().Which.Message.Should().Be("payment declined");
        received.Should().BeEmpty("because Build never publishes, not even the error event");
        subscription.Dispose();
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void NotifyAndBuild_FunctionThrowsWithoutErrorTopic_ThrowAndPublishNothing()
    {
        using var bus = TestBus.Create(AtNoon(), "orders", "errors");
        var received = new List<Event>();
        using var subscription = bus.Match(".*").Subscribe(received.Add);
        var boom = new InvalidOperationException("payment declined");

        var notify = () => bus.Notify<string>("orders", () => throw boom);
        var build = () => bus.Build<string>("orders", () => throw boom);

        notify.Should().Throw<InvalidOperationException>().Which.Should().BeSameAs(boom);
        build.Should().Throw<InvalidOperationException>().Which.Should().BeSameAs(boom);
        received.Should().BeEmpty("because without an error topic a failure is only thrown");
        subscription.Dispose();
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void Build_FunctionReturnsNull_CountsAsFailure()
    {
        using var bus = TestBus.Create(AtNoon(), "orders", "errors");

        var withErrorTopic = bus.Build<string?>("orders", () => null, new EventSourceParams { ErrorTopic = "errors" });
        var withoutErrorTopic = () => bus.Build<string?>("orders", () => null);

        withErrorTopic.Topic.Should().Be("errors", "because an event must carry data, so null is a failure");
        withErrorTopic.Data.Should().BeOfType<EventFailure>().Which.Should().BeEquivalentTo(
            new { Topic = "orders", ExceptionType = typeof(InvalidOperationException).FullName });
        withoutErrorTopic.Should().Throw<InvalidOperationException>().WithMessage("*'orders'*null*");
    }

    [Fact]
    public void Notify_FunctionReturnsNullWithErrorTopic_PublishesEventFailureAndThrows()
    {
        using var bus = TestBus.Create(AtNoon(), "orders", "errors");
        var onOrders = new List<Event>();
        var onErrors = new List<Event>();
        using var orders = bus.Topic("orders").Subscribe(onOrders.Add);
        using var errors = bus.Topic("errors").Subscribe(onErrors.Add);

        var act = () => bus.Notify<string?>("orders", () => null, new EventSourceParams { ErrorTopic = "errors" });

        act.Should().Throw<InvalidOperationException>("because a null result is a failure, and Notify rethrows failures")
            .WithMessage("*'orders'*null*");
        onOrders.Should().BeEmpty("because there is no data to publish");
        onErrors.Should().ContainSingle().Which.Data.Should().BeOfType<EventFailure>()
            .Which.Topic.Should().Be("orders", "because the failure is published to the error topic, naming the topic that failed");
        orders.Dispose();
        errors.Dispose();
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void Notify_FunctionReturnsNullWithoutErrorTopic_ThrowsAndPublishesNothing()
    {
        using var bus = TestBus.Create(AtNoon(), "orders");
        var received = new List<Event>();
        using var subscription = bus.Match(".*").Subscribe(received.Add);

        var act = () => bus.Notify<string?>("orders", () => null);

        act.Should().Throw<InvalidOperationException>().WithMessage("*'orders'*null*");
        received.Should().BeEmpty();
        subscription.Dispose();
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public async Task NotifyAsync_FunctionCompletesAfterVirtualTimePasses_PublishesEventStampedAroundTheAwait()
    {
        var scheduler = AtNoon();
        using var bus = TestBus.Create(scheduler, "orders");
        var received = new List<Event>();
        using var subscription = bus.Topic("orders").Subscribe(received.Add);
        var work = new TaskCompletionSource<string>();

        var notifying = bus.NotifyAsync("orders", _ => work.Task);
        received.Should().BeEmpty("because the data is not produced yet");
        scheduler.AdvanceBy(WorkTime.Ticks);
        work.SetResult("order #1");
        var result = await notifying.WaitAsync(TimeSpan.FromSeconds(10));

        result.Should().Be("order #1");
        var published = received.Should().ContainSingle().Which;
        published.InitializedAt.Should().Be(Noon, "because InitializedAt is read before the function starts");
        published.OccurredAt.Should().Be(Noon + WorkTime, "because OccurredAt is read once the function's task completed");
        subscription.Dispose();
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public async Task NotifyAsync_FunctionFailsWithErrorTopic_PublishesEventFailureAndRethrows()
    {
        using var bus = TestBus.Create(AtNoon(), "orders", "errors");
        var onErrors = new List<Event>();
        using var errors = bus.Topic("errors").Subscribe(onErrors.Add);
        var boom = new InvalidOperationException("payment declined");

        var act = () => bus.NotifyAsync<string>("orders", _ => Task.FromException<string>(boom), new EventSourceParams { ErrorTopic = "errors" });

        (await act.Should().ThrowAsync<InvalidOperationException>()).Which.Should().BeSameAs(boom);
        onErrors.Should().ContainSingle().Which.Data.Should().BeOfType<EventFailure>().Which.Exception.Should().BeSameAs(boom);
        errors.Dispose();
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public async Task NotifyAsync_FunctionReturnsNullWithErrorTopic_PublishesEventFailureAndThrows()
    {
        using var bus = TestBus.Create(AtNoon(), "orders", "errors");
        var received = new List<Event>();
        using var subscription = bus.Match(".*").Subscribe(received.Add);

        var act = () => bus.NotifyAsync<string?>("orders", _ => Task.FromResult<string?>(null), new EventSourceParams { ErrorTopic = "errors" });

        await act.Should().ThrowAsync<InvalidOperationException>("because a null result is a failure in the async form too");
        received.Should().ContainSingle().Which.Should().Match<Event>(
            e => e.Topic == "errors" && e.Data is EventFailure, "because only the failure is published, to the error topic");
        subscription.Dispose();
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public async Task NotifyAsync_CancelledThroughItsToken_RethrowsWithoutPublishingAFailure()
    {
        using var bus = TestBus.Create(AtNoon(), "orders", "errors");
        var received = new List<Event>();
        using var subscription = bus.Match(".*").Subscribe(received.Add);
        using var cancellation = new CancellationTokenSource();
        var neverDone = new TaskCompletionSource<string>();

        var notifying = bus.NotifyAsync(
            "orders", token => neverDone.Task.WaitAsync(token), new EventSourceParams { ErrorTopic = "errors" }, cancellation.Token);
        await cancellation.CancelAsync();

        await notifying.Invoking(t => t.WaitAsync(TimeSpan.FromSeconds(10))).Should().ThrowAsync<OperationCanceledException>(
            "because the caller asked to stop, and that is what it is told");
        received.Should().BeEmpty("because a cancellation the caller asked for is not a failure of the producing code");
        subscription.Dispose();
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public async Task NotifyAsync_OperationCanceledWithoutItsTokenCancelled_CountsAsFailure()
    {
        using var bus = TestBus.Create(AtNoon(), "orders", "errors");
        var onErrors = new List<Event>();
        using var errors = bus.Topic("errors").Subscribe(onErrors.Add);

        // e.g. an HTTP client's own timeout: nobody asked this call to stop, so it is a failure.
        var act = () => bus.NotifyAsync<string>(
            "orders", _ => Task.FromException<string>(new OperationCanceledException("timed out")), new EventSourceParams { ErrorTopic = "errors" });

        await act.Should().ThrowAsync<OperationCanceledException>();
        onErrors.Should().ContainSingle("because only the caller's own cancellation is exempt").Which.Data.Should().BeOfType<EventFailure>();
        errors.Dispose();
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    private static TestScheduler AtNoon()
    {
        var scheduler = new TestScheduler();
        scheduler.AdvanceTo(Noon.UtcTicks);
        return scheduler;
    }
}
