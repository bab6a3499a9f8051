using System.Reactive.Subjects;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RxEventBus.Hosting.Tests.Support;

namespace RxEventBus.Hosting.Tests;

// What the bus built by AddRxEventBus logs of its Errors and Rejections: each line's category, level and id, and
// that it names what a person on call needs (the subscriber, the event, the topic, the reason). No database.
public sealed class EventBusLoggingTests : IDisposable
{
    private const string Category = "RxEventBus.EventBus";
    private readonly ListLoggerProvider _logs = new();
    private readonly IHost _host;

    public EventBusLoggingTests()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Logging.AddProvider(_logs).SetMinimumLevel(LogLevel.Debug);
        builder.Services.AddRxEventBus(bus => bus.Topics.Add("orders"));
        _host = builder.Build();
        Bus = _host.Services.GetRequiredService<EventBus>();
    }

    private EventBus Bus { get; }

    private List<(LogLevel Level, int Id, string Message)> BusLines() =>
        [.. _logs.Entries.Where(e => e.Category == Category).Select(e => (e.Level, e.EventId.Id, e.Message))];

    public void Dispose() => _host.Dispose();

    [Fact]
    public void SubscriberThrows_LoggedAsErrorNamingTheSubscriberTheEventAndTheTopic()
    {
        using var faulty = Bus.Tracked("auditor", "ord").Subscribe(_ => throw new InvalidOperationException("a bug"));

        var @event = Bus.Publish("orders", 1);

        BusLines().Should().ContainSingle().Which.Should().Match<(LogLevel Level, int Id, string Message)>(l =>
            l.Level == LogLevel.Error && l.Id == 102
            && l.Message.Contains("'auditor'") && l.Message.Contains(@event.Id.ToString()) && l.Message.Contains("orders"));
    }

    [Fact]
    public void SubscriberThrowsOnCompletion_LoggedAsError()
    {
        using var faulty = Bus.Topic("orders").Subscribe(_ => { }, () => throw new InvalidOperationException("a bug"));

        Bus.Dispose();

        BusLines().Should().Equal([(LogLevel.Error, 103, "Subscriber #1 (Topic orders) threw while the bus was ending it (OnCompleted or OnError); the bus went on ending the others.")]);
    }

    [Fact]
    public void PatternTimesOutOnANewTopic_LoggedAsErrorSayingItReceivesNothingMore()
    {
        // Catastrophic backtracking on the new topic: the default 100 ms RegexMatchTimeout ends the subscription
        // (a shorter one could already expire on "orders", at subscribe time, on a cold start).
        using var doomed = Bus.Match("(a+)+$").Subscribe(_ => { }, _ => { });

        Bus.RegisterTopic(new string('a', 40) + "!");

        BusLines().Should().ContainSingle().Which.Should().Match<(LogLevel Level, int Id, string Message)>(l =>
            l.Level == LogLevel.Error && l.Id == 104 && l.Message.Contains("receives nothing more") && l.Message.Contains("RegexMatchTimeout"));
    }

    [Fact]
    public void SubscriberRefuses_LoggedAsWarningNamingWhoRefusedAndWhy()
    {
        using var refusing = Bus.Tracked("postgres", ".*").Subscribe(_ => throw new EventRejectedException("The buffer is full."));
        var @event = Bus.CreateEvent("orders", 1);

        var publish = () => Bus.Publish(@event);

        publish.Should().Throw<EventRejectedException>();
        BusLines().Should().Equal([(LogLevel.Warning, 107,
            $"Event {@event.Id} of topic orders was refused by subscriber 'postgres' (#1 Tracked .*): The buffer is full. " +
            "The publisher got an EventRejectedException; the other subscribers received the event.")]);
    }

    [Fact]
    public void PublishToUnregisteredTopic_LoggedAsError()
    {
        var @event = Bus.CreateEvent("ordres", 1);

        var publish = () => Bus.Publish(@event);

        publish.Should().Throw<TopicNotRegisteredException>();
        BusLines().Should().Equal([(LogLevel.Error, 108,
            $"Event {@event.Id} was published to topic ordres, which is not registered: no subscriber received it, and the publisher got a TopicNotRegisteredException.")]);
    }

    [Fact]
    public void AttachedSourcesEventRefused_TheRefusalIsTheWarningAndTheSourcesFailureOnlyDebug()
    {
        using var refusing = Bus.Topic("orders").Subscribe(_ => throw new EventRejectedException("Full."));
        var source = new Subject<int>();
        using var attached = Bus.Attach("orders", source);

        source.OnNext(1);

        BusLines().Select(l => (l.Level, l.Id)).Should().Equal([(LogLevel.Warning, 107), (LogLevel.Debug, 105)],
            "one refusal is one line at Warning; the source's side of it is detail");
    }

    [Fact]
    public void AttachedSourcePublishesAnInvalidEvent_LoggedAsError()
    {
        var source = new Subject<Event>();
        using var attached = Bus.Attach(source);
        var invalid = Bus.CreateEvent("orders", 1) with { Id = Guid.Empty };

        source.OnNext(invalid);

        BusLines().Should().ContainSingle().Which.Should().Match<(LogLevel Level, int Id, string Message)>(l =>
            l.Level == LogLevel.Error && l.Id == 105 && l.Message.Contains("empty Id"));
    }

    [Fact]
    public void AttachedSourceEndsWithAnError_LoggedAsError()
    {
        var source = new Subject<int>();
        using var attached = Bus.Attach("orders", source);

        source.OnError(new IOException("the device went away"));

        BusLines().Select(l => (l.Level, l.Id)).Should().Equal([(LogLevel.Error, 106)]);
        _logs.Entries.Single(e => e.Category == Category).Message.Should().Contain("attached source failed");
    }

    [Fact]
    public void NothingGoesWrong_NothingIsLogged()
    {
        using var fine = Bus.Topic("orders").Subscribe(_ => { });

        Bus.Publish("orders", 1);

        BusLines().Should().BeEmpty("the bus logs only what someone should look at");
    }
}
