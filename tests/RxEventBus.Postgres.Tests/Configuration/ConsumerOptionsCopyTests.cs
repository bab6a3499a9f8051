namespace RxEventBus.Postgres.Tests.Configuration;

// The options are settable so that the options pattern can bind into them; a consumer must still run on what was
// validated when it was built. No database: nothing here connects.
public sealed class ConsumerOptionsCopyTests
{
    [Fact]
    public async Task Constructor_OptionsChangedAfterwards_TheConsumerKeepsWhatItWasGiven()
    {
        using var bus = new EventBus(new EventBusOptions { Topics = ["orders"] });
        var options = new PostgresPersistenceOptions
        {
            ConnectionString = "Host=127.0.0.1;Port=1;Database=none",
            Topics = ["orders"],
            PoolSize = 3,
            MaxBatchSize = 100,
        };
        await using var consumer = new PostgresConsumer(bus, options);

        options.PoolSize = 50;           // more writers than DatabasePoolSize: invalid, and never validated
        options.MaxBatchSize = 1;
        options.Topics = ["payments"];

        consumer.Options.Should().NotBeSameAs(options);
        consumer.Options.PoolSize.Should().Be(3);
        consumer.Options.MaxBatchSize.Should().Be(100);
        consumer.Options.Topics.Should().Equal("orders");
    }
}
