using System.Runtime;
using System.Runtime.CompilerServices;
using RxEventBus.Postgres.Tests.Support;

namespace RxEventBus.Postgres.Tests.Reliability;

// What the consumer keeps after an event is written. A batch of thousands lives in an array on the
// large-object heap, which only a full collection frees; an array left filled after its write is, to every
// younger collection, an old object pointing at young ones, so it keeps every event of the batch alive and
// makes the collector promote them (measured: most of the consumer's GC pause, docs/benchmarks.md).
//
// The test needs its events to be young when it collects: no collection may run between their publishing
// and the test's own (it would promote them while they are rightly held, pending). So it runs alone — other
// tests' allocations would trigger collections — and inside a no-GC region.
[Collection(IsolatedPostgres.Name)]
public sealed class RetentionTests(PostgresFixture database) : IAsyncLifetime
{
    private string _schema = "";

    public async Task InitializeAsync() => _schema = await database.CreateSchemaAsync(nameof(RetentionTests));

    public Task DisposeAsync() => Task.CompletedTask;

    private sealed record Payload(int Number, byte[] Ballast);

    // Not inlined, so that no local of the test method holds the payload.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference Publish(EventBus bus, int number)
    {
        var payload = new Payload(number, new byte[64]);
        bus.Publish("orders", payload);
        return new WeakReference(payload);
    }

    [Fact]
    public async Task Write_BatchCommitted_ItsEventsAreFreedByAYoungCollection()
    {
        using var bus = new EventBus(new EventBusOptions { Topics = ["orders"] });
        await using var consumer = new PostgresConsumer(bus, new PostgresPersistenceOptions
        {
            ConnectionString = database.ConnectionString,
            Schema = _schema,
            Table = "retention",
            MaxBatchSize = 10_000, // a batch list on the large-object heap, however few events it holds
            MaxBatchDelay = TimeSpan.FromMilliseconds(1),
        });
        await consumer.StartAsync();
        // Starts with a full collection, so that the young one below is not escalated to a full one either.
        GC.TryStartNoGCRegion(64 * 1024 * 1024).Should().BeTrue();

        var written = Enumerable.Range(0, 50).Select(i => Publish(bus, i)).ToList();
        await Wait.UntilAsync(() => consumer.Statistics.Persisted == 50 && bus.Diagnostics.PendingEvents == 0, "the first 50 are committed and acknowledged");
        // The stages keep their last item until the next one comes: send a few more through, in batches of
        // their own, so that none of the first 50 is anybody's last.
        for (var i = 0; i < 3; i++)
        {
            Publish(bus, 1_000 + i);
            var persisted = 51 + i;
            await Wait.UntilAsync(() => consumer.Statistics.Persisted == persisted && bus.Diagnostics.PendingEvents == 0, "each later event is committed on its own");
        }

        GCSettings.LatencyMode.Should().Be(GCLatencyMode.NoGCRegion, "no collection may have run since the events were published");
        GC.EndNoGCRegion();
        var fullCollections = GC.CollectionCount(2);
        GC.Collect(1, GCCollectionMode.Forced, blocking: true);

        GC.CollectionCount(2).Should().Be(fullCollections, "the test needs a young collection: a full one frees the batch arrays too");

        written.Count(w => w.IsAlive).Should().Be(0, "once committed and acknowledged, an event is no longer held by the consumer");
    }

}
