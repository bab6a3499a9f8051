using System.Reactive.Concurrency;
using System.Text.RegularExpressions;
using Microsoft.Reactive.Testing;
using RxEventBus.Tests.Support;

namespace RxEventBus.Tests;

// What the bus refuses, how it says so, and that it goes on working afterwards.
public sealed class BadInputTests : ReactiveTest
{
    private const string Good = "orders";

    // Catastrophic backtracking: (a+)+ tries every way to split the a's before failing at the '!'.
    private const string EvilPattern = "(a+)+$";
    private static readonly string EvilTopic = new string('a', 40) + "!";

    // Looked up by name: xUnit would mangle a broken surrogate or a NUL written into the test case itself.
    private static readonly Dictionary<string, string?> BadTopics = new()
    {
        ["null"] = null,
        ["empty"] = "",
        ["whitespace"] = " \t ",
        ["NUL character"] = "orders\0",
        ["other control character"] = "orders\u001bred",
        ["unpaired high surrogate"] = "orders\uD800",
        ["unpaired low surrogate"] = "\uDC00orders",
        ["256 characters"] = new string('t', 256),
    };

    public static TheoryData<string, string> BadTopicCalls()
    {
        var data = new TheoryData<string, string>();
        foreach (var topic in BadTopics.Keys)
        {
            foreach (var call in new[] { "RegisterTopic", "Topic", "TopicOfT", "PublishOfT", "PublishEvent", "Attach" })
            {
                data.Add(topic, call);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(BadTopicCalls))]
    public void TopicTakingCall_InvalidTopicName_ThrowsArgumentExceptionAndBusStillWorks(string topicCase, string call)
    {
        using var bus = TestBus.Create(new TestScheduler(), Good);
        var topic = BadTopics[topicCase]!;
        Action act = call switch
        {
            "RegisterTopic" => () => bus.RegisterTopic(topic),
            "Topic" => () => bus.Topic(topic),
            "TopicOfT" => () => bus.Topic<int>(topic),
            "PublishOfT" => () => bus.Publish(topic, 1),
            "PublishEvent" => () => bus.Publish(new Event { Id = Guid.NewGuid(), Topic = topic, Data = 1 }),
            "Attach" => () => bus.Attach(topic, new TestScheduler().CreateColdObservable<int>()),
            _ => throw new ArgumentOutOfRangeException(nameof(call)),
        };

        act.Should().Throw<ArgumentException>("because a {0} topic name can never be valid", topicCase);
        bus.Topics.Should().Equal([Good], "because a refused name is not registered");
        bus.ShouldStillDeliver(Good);
    }

    [Fact]
    public void RegisterTopic_InvalidName_MessageShowsTheNameWithControlCharactersEscaped()
    {
        using var bus = TestBus.Create(new TestScheduler(), Good);

        var act = () => bus.RegisterTopic("bad\0topic");

        act.Should().Throw<ArgumentException>().WithMessage(@"*bad\u0000topic*U+0000*", "because the message points at the character, printably");
        bus.ShouldStillDeliver(Good);
    }

    [Fact]
    public void RegisterTopic_NamesAtTheLimits_AreAccepted()
    {
        using var bus = TestBus.Create(new TestScheduler());
        var longest = new string('t', 255);
        var emoji = "orders_\U0001F600";

        bus.RegisterTopic(longest).Should().BeTrue("because 255 characters is the longest name allowed, not a bad one");
        bus.RegisterTopic(emoji).Should().BeTrue("because a paired surrogate is a valid character");
        bus.ShouldStillDeliver(longest);
        bus.ShouldStillDeliver(emoji);
    }

    [Theory]
    [InlineData("purchase_(")]
    [InlineData("[orders")]
    [InlineData("*orders")]
    [InlineData("a)|(b")] // invalid alone, valid once the bus wraps it in ^(?:…): still refused
    public void Match_InvalidRegex_ThrowsArgumentExceptionNamingThePattern(string pattern)
    {
        using var bus = TestBus.Create(new TestScheduler(), Good);

        var match = () => bus.Match(".*", pattern);
        var tracked = () => bus.Tracked("auditor", pattern);

        match.Should().Throw<ArgumentException>("because the pattern does not compile").WithMessage($"*'{pattern}'*");
        tracked.Should().Throw<ArgumentException>("because tracked subscribers take the same patterns").WithMessage($"*'{pattern}'*");
        bus.Diagnostics.LiveSubscriptions.Should().Be(0, "because nothing was subscribed");
        bus.ShouldStillDeliver(Good);
    }

    [Fact]
    public void Match_PatternWhoseCommentSwallowsTheAnchorsParenthesis_ThrowsArgumentNamingIt()
    {
        using var bus = TestBus.Create(new TestScheduler(), Good);

        // Valid on its own, but under (?x) a '#' comments out the rest of the line, ")" of ^(?:…) included.
        var match = () => bus.Match("(?x)orders#comment");

        match.Should().Throw<ArgumentException>("because the bus cannot anchor it at the start of the name")
            .WithMessage("*'(?x)orders#comment'*anchored*");
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
        bus.ShouldStillDeliver(Good);
    }

    [Fact]
    public void Match_NoPatternOrEmptyOrNullPattern_ThrowsArgument()
    {
        using var bus = TestBus.Create(new TestScheduler(), Good);

        bus.Invoking(b => b.Match()).Should().Throw<ArgumentException>("because a subscription with no pattern would receive nothing");
        bus.Invoking(b => b.Match("")).Should().Throw<ArgumentException>().WithMessage("*\".*\"*", "because the message says how to match everything");
        bus.Invoking(b => b.Match(Good, null!)).Should().Throw<ArgumentException>();
        bus.Invoking(b => b.Match(null!)).Should().Throw<ArgumentException>();
        bus.ShouldStillDeliver(Good);
    }

    [Fact]
    public void Match_PatternTimingOutOnARegisteredTopic_SubscriptionEndsWithErrorAndBusKeepsWorking()
    {
        var scheduler = new TestScheduler();
        using var bus = BusWithShortRegexTimeout(scheduler, Good, EvilTopic);
        var bystander = scheduler.CreateObserver<Event>();
        using var bystanderSubscription = bus.Match(".*").Subscribe(bystander);
        var doomed = scheduler.CreateObserver<Event>();
        scheduler.AdvanceTo(300);

        using (bus.Match(EvilPattern).Subscribe(doomed))
        {
            var ended = doomed.Messages.Should().ContainSingle().Which;
            ended.Time.Should().Be(300);
            ended.Value.Kind.Should().Be(
                System.Reactive.NotificationKind.OnError, "because a pattern that cannot be matched in time cannot be subscribed");
            var error = ended.Value.Exception!;
            error.Should().BeOfType<ArgumentException>().Which.Message.Should().Contain(
                EvilTopic, "because the message names the topic the pattern choked on");
            error.InnerException.Should().BeOfType<RegexMatchTimeoutException>();
        }

        bus.Diagnostics.LiveSubscriptions.Should().Be(1, "because only the bystander is subscribed");
        var published = bus.Publish(EvilTopic, 1);
        bystander.Messages.Should().ContainSingle("because the other subscriber still receives every topic")
            .Which.Value.Value.Should().BeSameAs(published);
        bus.ShouldStillDeliver(Good);
        bystanderSubscription.Dispose();
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void RegisterTopic_ExistingPatternTimesOutOnIt_EndsThatSubscriptionReportsItAndRegistersTheTopic()
    {
        var scheduler = new TestScheduler();
        using var bus = BusWithShortRegexTimeout(scheduler, Good);
        var errors = scheduler.CreateObserver<EventBusError>();
        using var errorSubscription = bus.Errors.Subscribe(errors);
        var bystander = scheduler.CreateObserver<Event>();
        using var bystanderSubscription = bus.Match(".*").Subscribe(bystander);
        var doomed = scheduler.CreateObserver<Event>();
        var doomedSubscription = bus.Match(EvilPattern).Subscribe(doomed);
        scheduler.AdvanceTo(300);

        var registered = bus.RegisterTopic(EvilTopic);

        registered.Should().BeTrue("because the topic itself is fine; only one subscriber's pattern failed on it");
        var ended = doomed.Messages.Should().ContainSingle().Which;
        ended.Time.Should().Be(300);
        ended.Value.Exception.Should().BeOfType<InvalidOperationException>("because the subscription can no longer tell which topics it wants")
            .Which.InnerException.Should().BeOfType<RegexMatchTimeoutException>();
        var report = errors.Messages.Should().ContainSingle().Which.Value.Value;
        report.Origin.Should().Be(EventBusErrorOrigin.Pattern, "because the fault is the pattern's");
        report.Exception.Should().BeSameAs(ended.Value.Exception, "because the report and the OnError describe the same failure");
        report.Subscriber!.Patterns.Should().Equal([EvilPattern], "because the report says which subscription failed");
        var published = bus.Publish(EvilTopic, 1);
        bystander.Messages.Should().ContainSingle().Which.Value.Value.Should().BeSameAs(published, "because other subscribers get the new topic");
        bus.ShouldStillDeliver(Good);
        doomedSubscription.Dispose();
        bystanderSubscription.Dispose();
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void RegisterTopic_TrackedPatternTimesOutOnIt_SkipsWhatTheTrackedSubscriberOwed()
    {
        var scheduler = new TestScheduler();
        using var bus = BusWithShortRegexTimeout(scheduler, Good);
        var doomed = scheduler.CreateObserver<TrackedEvent>();
        var subscription = bus.Tracked("auditor", Good, EvilPattern).Subscribe(doomed);
        var owed = bus.Publish(Good, 1);

        bus.RegisterTopic(EvilTopic);

        doomed.Messages.Should().HaveCount(2).And.Subject.Last().Value.Kind.Should().Be(System.Reactive.NotificationKind.OnError);
        bus.FetchEvent(Good, owed.Id).Should().BeNull("because an ended tracked subscriber must not leave its events pending forever");
        bus.Diagnostics.PendingEvents.Should().Be(0);
        subscription.Dispose();
        bus.ShouldStillDeliver(Good);
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void Publish_AfterDispose_ThrowsObjectDisposed()
    {
        var bus = TestBus.Create(new TestScheduler(), Good);
        bus.Dispose();

        bus.Invoking(b => b.Publish(Good, 1)).Should().Throw<ObjectDisposedException>("because a disposed bus accepts nothing");
        bus.Invoking(b => b.Publish(new Event { Id = Guid.NewGuid(), Topic = Good, Data = 1 })).Should().Throw<ObjectDisposedException>();
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void Publish_EmptyId_ThrowsArgumentAndDeliversNothing()
    {
        using var bus = TestBus.Create(new TestScheduler(), Good);
        var received = new List<Event>();
        using var subscription = bus.Topic(Good).Subscribe(received.Add);

        var act = () => bus.Publish(new Event { Id = Guid.Empty, Topic = Good, Data = 1 });

        act.Should().Throw<ArgumentException>("because an event must have an id to be fetched, answered and stored")
            .WithMessage("*empty Id*");
        received.Should().BeEmpty();
        subscription.Dispose();
        bus.ShouldStillDeliver(Good);
    }

    [Fact]
    public void Publish_NullData_ThrowsArgumentAndDeliversNothing()
    {
        using var bus = TestBus.Create(new TestScheduler(), Good);
        var received = new List<Event>();
        using var subscription = bus.Topic(Good).Subscribe(received.Add);

        var act = () => bus.Publish(new Event { Id = Guid.NewGuid(), Topic = Good, Data = null! });

        act.Should().Throw<ArgumentException>("because an event must carry data").WithMessage("*null Data*");
        received.Should().BeEmpty();
        subscription.Dispose();
        bus.ShouldStillDeliver(Good);
    }

    [Fact]
    public void Publish_NullEvent_ThrowsArgumentNull()
    {
        using var bus = TestBus.Create(new TestScheduler(), Good);

        bus.Invoking(b => b.Publish(null!)).Should().Throw<ArgumentNullException>();
        bus.Invoking(b => b.Publish<string>(Good, null!)).Should().Throw<ArgumentNullException>();
        bus.ShouldStillDeliver(Good);
    }

    [Fact]
    public void Publish_IdStillPendingOnTheTopic_ThrowsArgumentAndKeepsTheOriginal()
    {
        using var bus = TestBus.Create(new TestScheduler(), Good);
        var answers = new List<TrackedEvent>();
        using var tracked = bus.Tracked("auditor", Good).Subscribe(answers.Add);
        var original = bus.Publish(Good, "original");

        var act = () => bus.Publish(original with { Data = "impostor" });

        act.Should().Throw<ArgumentException>("because two pending events with one id could not be told apart")
            .WithMessage($"*{original.Id}*pending*");
        answers.Should().ContainSingle("because the duplicate was refused before delivery");
        bus.FetchEvent(Good, original.Id).Should().BeSameAs(original, "because the pending original is untouched");
        answers[0].MarkCompleted();
        bus.ShouldStillDeliver(Good);
        tracked.Dispose();
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void MarkCompleted_UnknownEvent_ThrowsInvalidOperation()
    {
        using var bus = TestBus.Create(new TestScheduler(), Good);
        using var tracked = bus.Tracked("auditor", Good).Subscribe(_ => { });
        var unknown = Guid.NewGuid();

        bus.Invoking(b => b.MarkCompleted("auditor", Good, unknown)).Should().Throw<InvalidOperationException>(
            "because the event is not pending there").WithMessage($"*{unknown}*'{Good}'*");
        bus.Invoking(b => b.MarkSkipped("auditor", "never_registered", unknown)).Should().Throw<InvalidOperationException>();
        tracked.Dispose();
        bus.ShouldStillDeliver(Good);
    }

    [Fact]
    public void MarkCompleted_SubscriberThatWasNotDeliveredTheEvent_ThrowsArgumentAndLeavesItPending()
    {
        using var bus = TestBus.Create(new TestScheduler(), Good);
        using var tracked = bus.Tracked("auditor", Good).Subscribe(_ => { });
        var published = bus.Publish(Good, 1);
        using var latecomer = bus.Tracked("latecomer", Good).Subscribe(_ => { });

        var stranger = () => bus.MarkCompleted("stranger", Good, published.Id);
        var late = () => bus.MarkSkipped("latecomer", Good, published.Id);

        stranger.Should().Throw<ArgumentException>("because no subscriber of that name received it")
            .WithMessage("*'stranger'*'auditor'*", "because the message names who did receive it");
        late.Should().Throw<ArgumentException>("because a subscriber that joined after the publish owes nothing");
        bus.Pending(Good).Should().ContainSingle().Which.Completers.Should().BeEmpty("because the bad answers changed nothing");
        bus.MarkCompleted("auditor", Good, published.Id);
        bus.ShouldStillDeliver(Good);
        tracked.Dispose();
        latecomer.Dispose();
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void Mark_Twice_ThrowsInvalidOperationAndKeepsTheFirstAnswer()
    {
        using var bus = TestBus.Create(new TestScheduler(), Good);
        var answers = new List<TrackedEvent>();
        using var auditor = bus.Tracked("auditor", Good).Subscribe(answers.Add);
        using var mailer = bus.Tracked("mailer", Good).Subscribe(_ => { });
        var published = bus.Publish(Good, 1);
        answers[0].MarkCompleted();

        answers[0].Invoking(a => a.MarkSkipped()).Should().Throw<InvalidOperationException>("because each subscriber answers once")
            .WithMessage("*'auditor'*already*completed*");
        bus.Invoking(b => b.MarkCompleted("auditor", Good, published.Id)).Should().Throw<InvalidOperationException>();
        bus.Pending(Good).Should().ContainSingle().Which.Skippers.Should().BeEmpty("because the second answer was refused");
        bus.MarkSkipped("mailer", Good, published.Id);
        answers[0].Invoking(a => a.MarkCompleted()).Should().Throw<InvalidOperationException>(
            "because answering again after the event was dropped is still a second answer");
        bus.ShouldStillDeliver(Good);
        auditor.Dispose();
        mailer.Dispose();
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void DefaultTrackedEvent_Answered_ThrowsInvalidOperation()
    {
        var notFromTheBus = default(TrackedEvent);

        notFromTheBus.Invoking(e => e.MarkCompleted()).Should().Throw<InvalidOperationException>(
            "because only the bus makes real tracked events");
    }

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    public void Tracked_BlankName_ThrowsArgument(string name)
    {
        using var bus = TestBus.Create(new TestScheduler(), Good);

        bus.Invoking(b => b.Tracked(name, Good)).Should().Throw<ArgumentException>("because a tracked subscriber answers by its name");
        bus.ShouldStillDeliver(Good);
    }

    public static TheoryData<string> InvalidOptionCases() =>
        [.. InvalidOptions.Keys];

    private static readonly Dictionary<string, Func<EventBusOptions>> InvalidOptions = new()
    {
        ["negative DefaultTtl"] = () => new EventBusOptions { DefaultTtl = TimeSpan.FromSeconds(-1) },
        ["zero DefaultTtl"] = () => new EventBusOptions { DefaultTtl = TimeSpan.Zero },
        ["zero RegexMatchTimeout"] = () => new EventBusOptions { RegexMatchTimeout = TimeSpan.Zero },
        ["negative RegexMatchTimeout"] = () => new EventBusOptions { RegexMatchTimeout = TimeSpan.FromMilliseconds(-5) },
        ["null Scheduler"] = () => new EventBusOptions { Scheduler = null! },
        ["null IdGenerator"] = () => new EventBusOptions { IdGenerator = null! },
        ["null Topics"] = () => new EventBusOptions { Topics = null! },
        ["invalid topic in Topics"] = () => new EventBusOptions { Topics = [Good, "bad\0"] },
    };

    [Theory]
    [MemberData(nameof(InvalidOptionCases))]
    public void Constructor_InvalidOptions_ThrowsArgument(string optionCase)
    {
        var options = InvalidOptions[optionCase]();

        var act = () => new EventBus(options);

        act.Should().Throw<ArgumentException>("because a bus with {0} could not keep its promises", optionCase);
        using var bus = TestBus.Create(new TestScheduler(), Good);
        bus.ShouldStillDeliver(Good);
    }

    [Theory]
    [InlineData("null")]
    [InlineData("empty")]
    [InlineData("whitespace")]
    [InlineData("NUL character")]
    [InlineData("other control character")]
    [InlineData("unpaired high surrogate")]
    [InlineData("unpaired low surrogate")]
    [InlineData("256 characters")]
    public void Validate_InvalidTopicName_ThrowsNamingTheTopicBeforeAnyBusIsBuilt(string topicCase)
    {
        // Validate alone is what the host's ValidateOnStart runs: the bad name must be refused there, not later.
        var options = new EventBusOptions { Topics = [Good, BadTopics[topicCase]!] };

        var act = options.Validate;

        act.Should().Throw<ArgumentException>().Which.Message.Should().StartWith("EventBusOptions.Topics[1] ", "the message points at the offending topic");
    }

    [Fact]
    public void Validate_ControlCharacterInATopic_MessageShowsTheTopicEscaped()
    {
        var options = new EventBusOptions { Topics = ["bad\ttopic"] };

        var act = options.Validate;

        act.Should().Throw<ArgumentException>().Which.Message.Should().Be(
            "EventBusOptions.Topics[0] is not a valid topic name: Topic name 'bad\\u0009topic' contains the control character U+0009 " +
            "at index 3; topic names must be printable. (Parameter 'options')");
    }

    private static EventBus BusWithShortRegexTimeout(IScheduler scheduler, params string[] topics) =>
        new(new EventBusOptions { Scheduler = scheduler, Topics = topics, RegexMatchTimeout = TimeSpan.FromMilliseconds(50) });
}
