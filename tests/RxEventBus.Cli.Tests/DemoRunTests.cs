namespace RxEventBus.Cli.Tests;

// How the demo waits for its publisher: it must stop waiting as soon as the consumer faults, since a faulted
// consumer writes nothing more and a publisher left running would only count refusals (or wait for room).
public sealed class DemoRunTests
{
    // A safety net against a hang, not a timing.
    private static readonly TimeSpan Hang = TimeSpan.FromMinutes(1);

    [Fact]
    public async Task WaitForPublishingAsync_ConsumerFaultsWhilePublishing_ReturnsConsumerEnded()
    {
        using var bus = new EventBus(new EventBusOptions { Topics = [DemoRun.Topic] });
        using var publishingStop = new CancellationTokenSource();
        var publisher = new DemoPublisher(bus, DemoRun.Topic, new EventSourceParams());
        var publishing = publisher.RunAsync(long.MaxValue, publishingStop.Token);
        var consumer = new TaskCompletionSource();

        var waiting = DemoRun.WaitForPublishingAsync(publishing, consumer.Task, CancellationToken.None);
        consumer.SetException(new InvalidOperationException("the persistence pipeline failed"));
        var end = await waiting.WaitAsync(Hang);

        end.Should().Be(PublishingEnd.ConsumerEnded, "a fault ends the wait although the publisher has events left to publish");
        publishing.IsCompleted.Should().BeFalse("the publisher is stopped by the run, which then says why");
        await publishingStop.CancelAsync();
        await publishing.WaitAsync(Hang);
        publisher.Finished.Should().BeFalse();
    }
}
