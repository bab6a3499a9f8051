namespace RxEventBus.Tests;

// TopicFilter is the bus's pattern rule for code outside the bus: it must match exactly what a pattern
// subscription would receive.
public sealed class TopicFilterTests
{
    [Theory]
    [InlineData("orders", "orders.placed", true)]
    [InlineData("orders", "metrics.orders", false)]
    [InlineData("orders$", "orders.placed", false)]
    [InlineData("a|b", "xb", false)]
    [InlineData(".*", "anything", true)]
    public void Matches_SameRulesAsAPatternSubscription(string pattern, string topic, bool expected)
    {
        using var bus = new EventBus(new EventBusOptions { Topics = [topic] });
        var received = 0;
        using var subscription = bus.Match(pattern).Subscribe(_ => received++);
        bus.Publish(topic, 1);

        new TopicFilter([pattern]).Matches(topic).Should().Be(expected);
        (received == 1).Should().Be(expected, "the bus agrees");
    }

    [Fact]
    public void Constructor_InvalidRegex_ThrowsNamingIt()
    {
        var create = () => new TopicFilter(["a)("]);

        create.Should().Throw<ArgumentException>().WithMessage("*'a)('*");
    }
}
