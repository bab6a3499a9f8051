using System.Collections.Concurrent;
using System.Text.Json;

namespace RxEventBus.Postgres;

/// <summary>
/// The default <see cref="IEventSerializer"/>: System.Text.Json. A payload is written as its runtime type; it
/// is read back as the type mapped to its topic with <see cref="MapTopic{T}"/>, or as a
/// <see cref="JsonElement"/> when its topic has no type (types are never read from the database, so stored
/// data cannot choose what gets instantiated).
/// </summary>
public sealed class JsonEventSerializer : IEventSerializer
{
    private readonly ConcurrentDictionary<string, Type> _topicTypes = new(StringComparer.Ordinal);

    /// <summary>Creates a serializer with <paramref name="options"/> (default: <see cref="JsonSerializerOptions.Default"/>).</summary>
    public JsonEventSerializer(JsonSerializerOptions? options = null) => Options = options ?? JsonSerializerOptions.Default;

    /// <summary>The System.Text.Json options used both ways.</summary>
    public JsonSerializerOptions Options { get; }

    /// <summary>Reads payloads of <paramref name="topic"/> back as <typeparamref name="T"/>.</summary>
    /// <returns>This serializer, to chain calls.</returns>
    public JsonEventSerializer MapTopic<T>(string topic)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        _topicTypes[topic] = typeof(T);
        return this;
    }

    /// <inheritdoc/>
    public ValueTask<byte[]> SerializeAsync(Event @event, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(@event);
        return ValueTask.FromResult(JsonSerializer.SerializeToUtf8Bytes(@event.Data, @event.Data.GetType(), Options));
    }

    /// <inheritdoc/>
    public object Deserialize(string topic, ReadOnlySpan<byte> json)
    {
        ArgumentNullException.ThrowIfNull(topic);
        return _topicTypes.TryGetValue(topic, out var type)
            ? JsonSerializer.Deserialize(json, type, Options) ?? throw new JsonException($"The stored payload of topic '{topic}' is JSON null.")
            : JsonSerializer.Deserialize<JsonElement>(json, Options);
    }
}
