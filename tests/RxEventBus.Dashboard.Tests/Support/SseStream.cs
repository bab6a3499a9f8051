using System.Text.Json;

namespace RxEventBus.Dashboard.Tests.Support;

/// <summary>
/// A Server-Sent-Events response read message by message, checking the framing as it goes: fields are
/// <c>retry</c>, <c>event</c> and <c>data</c> only, each message ends with a blank line and has one data line.
/// </summary>
internal sealed class SseStream : IAsyncDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    private readonly HttpResponseMessage _response;
    private readonly StreamReader _reader;

    private SseStream(HttpResponseMessage response, Stream body)
    {
        _response = response;
        _reader = new StreamReader(body);
    }

    public string? Retry { get; private set; }

    public static async Task<SseStream> OpenAsync(HttpClient client, string path)
    {
        var response = await client.GetAsync(path, HttpCompletionOption.ResponseHeadersRead).WaitAsync(Limit);
        response.StatusCode.Should().Be(System.Net.HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.Should().Be("text/event-stream");
        response.Headers.CacheControl!.NoCache.Should().BeTrue();
        var stream = new SseStream(response, await response.Content.ReadAsStreamAsync());
        // The first thing on the stream: the reconnection delay, alone in its block.
        var first = await stream.ReadLineAsync();
        first.Should().StartWith("retry: ");
        stream.Retry = first["retry: ".Length..];
        (await stream.ReadLineAsync()).Should().BeEmpty("the retry line is its own block");
        return stream;
    }

    /// <summary>The next message: its event name and its data parsed as one JSON value.</summary>
    public async Task<(string Event, JsonElement Data)> NextAsync()
    {
        var name = await ReadLineAsync();
        name.Should().StartWith("event: ");
        var data = await ReadLineAsync();
        data.Should().StartWith("data: ");
        (await ReadLineAsync()).Should().BeEmpty("a message ends with a blank line, its data is one line");
        return (name["event: ".Length..], JsonDocument.Parse(data["data: ".Length..]).RootElement.Clone());
    }

    /// <summary>Messages until one named <paramref name="name"/> satisfies <paramref name="match"/>.</summary>
    public async Task<JsonElement> UntilAsync(string name, Func<JsonElement, bool> match)
    {
        while (true)
        {
            var (eventName, data) = await NextAsync();
            if (eventName == "error")
            {
                throw new InvalidOperationException($"The stream reported an error: {data}");
            }

            if (eventName == name && match(data))
            {
                return data;
            }
        }
    }

    private async Task<string> ReadLineAsync() =>
        await _reader.ReadLineAsync().WaitAsync(Limit) ?? throw new EndOfStreamException("The stream ended.");

    public ValueTask DisposeAsync()
    {
        _reader.Dispose();
        _response.Dispose();
        return ValueTask.CompletedTask;
    }
}
