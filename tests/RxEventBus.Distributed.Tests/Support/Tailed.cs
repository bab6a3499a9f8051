using System.Globalization;
using System.Text.Json;

namespace RxEventBus.Distributed.Tests.Support;

/// <summary>One event as <c>rxeventbus tail --json</c> printed it.</summary>
public sealed record TailedEvent(Guid Id, string Topic, Cursor At);

/// <summary>Reads what <c>rxeventbus tail --json</c> printed, and starts tails and writers the way the tests need them.</summary>
internal static class Tailed
{
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<OsProcess, List<TailedEvent>> Parsed = [];

    /// <summary>
    /// Every standard output line as an event. Each must be one JSON object with <c>id</c>, <c>topic</c>,
    /// <c>position</c> and <c>occurred_at</c>: standard output holds events and nothing else.
    /// </summary>
    public static IReadOnlyList<TailedEvent> Events(OsProcess tail)
    {
        // Lines are only ever appended: each is parsed once, however often a wait's condition asks.
        var events = Parsed.GetOrCreateValue(tail);
        lock (events)
        {
            foreach (var line in tail.Out.Skip(events.Count))
            {
                events.Add(Parse(tail, line));
            }

            return [.. events];
        }
    }

    private static TailedEvent Parse(OsProcess tail, string line)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(line);
        }
        catch (JsonException e)
        {
            throw new FormatException($"{tail.Name} printed a line on standard output that is not JSON ({e.Message}): {line}", e);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("id", out var id) || !root.TryGetProperty("topic", out var topic) ||
                !root.TryGetProperty("position", out var position) || !root.TryGetProperty("occurred_at", out _))
            {
                throw new FormatException($"{tail.Name} printed a line that is not an event with id, topic, position and occurred_at: {line}");
            }

            return new TailedEvent(id.GetGuid(), topic.GetString()!, Cursor.Parse(position.GetString()!));
        }
    }

    /// <summary>Starts <c>rxeventbus tail --database-url … --json</c> with <paramref name="flags"/>.</summary>
    public static OsProcess StartTail(string name, TestDatabase database, params string[] flags) =>
        OsProcess.StartCli(name, ["tail", "--database-url", database.Url, "--json", .. flags]);

    /// <summary>
    /// A psql process that inserts <paramref name="count"/> rows of topic <paramref name="topic"/> in a transaction
    /// and holds it open for <paramref name="hold"/> before committing: the late commit. Its sessions are named
    /// <paramref name="applicationName"/> in pg_stat_activity.
    /// </summary>
    public static OsProcess StartLateWriter(string name, ClusterFixture cluster, TestDatabase database, string applicationName, string topic, int count, TimeSpan hold)
    {
        var psql = Path.Combine(cluster.Server.BinDirectory, "psql");
        return OsProcess.Start(
            name,
            psql,
            [
                "-X", "-q", "-v", "ON_ERROR_STOP=1",
                "-h", "127.0.0.1", "-p", cluster.Server.Port.ToString(CultureInfo.InvariantCulture), "-U", "postgres", "-d", database.Name,
                "-c", "BEGIN",
                "-c", $"INSERT INTO {database.Table.QualifiedName} (id, topic, data) SELECT gen_random_uuid(), '{topic}', convert_to(jsonb_build_object('n', n)::text, 'UTF8') FROM generate_series(1, {count}) AS n",
                "-c", string.Create(CultureInfo.InvariantCulture, $"SELECT pg_sleep({hold.TotalSeconds})"),
                "-c", "COMMIT",
            ],
            new Dictionary<string, string> { ["PGAPPNAME"] = applicationName });
    }
}

/// <summary>Set assertions for tens of thousands of ids (FluentAssertions' BeEquivalentTo is quadratic).</summary>
internal static class Ids
{
    /// <summary>Fails naming the ids missing from <paramref name="actual"/> and those it has in excess.</summary>
    public static void ShouldBeExactly(IEnumerable<Guid> actual, IEnumerable<Guid> expected, string because)
    {
        var have = actual.ToHashSet();
        var want = expected.ToHashSet();
        have.Except(want).Should().BeEmpty("no row that is not in the table should be printed: {0}", because);
        want.Except(have).Should().BeEmpty("no row should be missed: {0}", because);
    }
}
