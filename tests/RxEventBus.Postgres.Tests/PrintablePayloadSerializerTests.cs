using System.Text;
using System.Text.Json;

namespace RxEventBus.Postgres.Tests;

// The serializer the command line and the dashboard show stored payloads with: JSON as the inner serializer reads
// it, anything else as its bytes, never an exception.
public sealed class PrintablePayloadSerializerTests
{
    [Fact]
    public void Deserialize_Json_IsWhatTheInnerSerializerReads()
    {
        var serializer = new PrintablePayloadSerializer(new JsonEventSerializer());

        var data = serializer.Deserialize("orders", "{\"n\": 7}"u8);

        data.Should().BeOfType<JsonElement>().Which.GetProperty("n").GetInt32().Should().Be(7);
    }

    [Fact]
    public void Deserialize_BytesThatAreNotJson_AreKeptAsABinaryPayloadInBase64()
    {
        var serializer = new PrintablePayloadSerializer(new JsonEventSerializer());
        byte[] protobuf = [0x08, 0x96, 0x01, 0xff, 0x00];

        var data = serializer.Deserialize("orders", protobuf);

        var binary = data.Should().BeOfType<BinaryPayload>("bytes that are not JSON must not fail the read").Which;
        binary.Bytes.ToArray().Should().Equal(protobuf);
        binary.ToBase64().Should().Be(Convert.ToBase64String(protobuf));
        binary.ToString().Should().Be("base64:" + Convert.ToBase64String(protobuf));
    }

    [Fact]
    public async Task SerializeAsync_IsTheInnerSerializers()
    {
        var serializer = new PrintablePayloadSerializer(new JsonEventSerializer());

        var bytes = await serializer.SerializeAsync(new Event { Id = Guid.NewGuid(), Topic = "orders", Data = new { n = 1 } }, CancellationToken.None);

        Encoding.UTF8.GetString(bytes).Should().Be("{\"n\":1}");
    }
}
