using System.Text.Json;
using RxEventBus.Cli.Tests.Support;
using RxEventBus.Postgres;
using RxEventBus.Postgres.Tests.Support;
using RxEventBus.Tests.Common;
using Xunit.Abstractions;

namespace RxEventBus.Cli.Tests;

// query and tail over a bytea table, run with the default options: they follow
// the column's actual type, print a JSON payload as JSON and bytes that are not JSON as base64.
[Collection(SharedPostgres.Name)]
public sealed class PayloadTypeOutputTests(PostgresFixture postgres, ITestOutputHelper output)
{
    private static readonly Guid JsonId = Guid.Parse("0196a7d0-0000-7000-8000-000000000001");
    private static readonly Guid BinaryId = Guid.Parse("0196a7d0-0000-7000-8000-000000000002");

    [Fact]
    public Task QueryFind_ByteaTable_PrintsJsonAsJsonAndOtherBytesAsBase64() => postgres.AttachLogOnFailureAsync(output, async () =>
    {
        var schema = await PrepareAsync("bytea_query");

        var json = await RunAsync("query", "find", JsonId.ToString(), "--json", "--database-url", postgres.ConnectionString, "--schema", schema);
        var text = await RunAsync("query", "find", BinaryId.ToString(), "--database-url", postgres.ConnectionString, "--schema", schema);
        var binary = await RunAsync("query", "find", BinaryId.ToString(), "--json", "--database-url", postgres.ConnectionString, "--schema", schema);

        using (var document = JsonDocument.Parse(json.Out))
        {
            document.RootElement.GetProperty("data").GetProperty("n").GetInt32().Should().Be(1, "JSON bytes in a bytea column print as JSON");
            document.RootElement.TryGetProperty("data_encoding", out _).Should().BeFalse("only bytes that are not JSON are encoded");
        }

        text.Out.Should().Contain("data            base64:/gABAg==", "bytes that are not JSON print as base64, marked as such");
        using (var document = JsonDocument.Parse(binary.Out))
        {
            document.RootElement.GetProperty("data").GetString().Should().Be("/gABAg==");
            document.RootElement.GetProperty("data_encoding").GetString().Should().Be("base64");
        }
    });

    [Fact]
    public Task Tail_ByteaTable_PrintsEveryEventWhateverItsBytes() => postgres.AttachLogOnFailureAsync(output, async () =>
    {
        var schema = await PrepareAsync("bytea_tail");

        var result = await RunAsync("tail", "--from", "beginning", "--count", "2", "--database-url", postgres.ConnectionString, "--schema", schema);

        var lines = result.Out.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        lines.Select(l => l.Split('\t')[^1]).Should().Equal(["{\"n\":1}", "base64:/gABAg=="]);
    });

    // A bytea table with one JSON payload and one that is not JSON (0xFE is never UTF-8).
    private async Task<string> PrepareAsync(string name)
    {
        var schema = await postgres.CreateSchemaAsync(name);
        await SchemaManager.EnsureSchemaAsync(postgres.DataSource, new EventTable(schema, "events", new EventTableDesign { Payload = PayloadType.Bytea }));
        await Sql.ExecuteAsync(
            postgres.ConnectionString,
            $"INSERT INTO \"{schema}\".events (id, topic, data, occurred_at) VALUES " +
            $"('{JsonId}', 'orders', convert_to('{{\"n\":1}}', 'UTF8'), now()), ('{BinaryId}', 'readings', '\\xfe000102'::bytea, now())");
        return schema;
    }

    private async Task<CliResult> RunAsync(params string[] args)
    {
        var result = await InProcess.RunAsync(args);
        output.WriteLine(result.ToString());
        result.ExitCode.Should().Be(ExitCodes.Success, result.ToString());
        return result;
    }
}
