namespace RxEventBus.Postgres;

/// <summary>
/// A stored payload that is not JSON, as <see cref="PrintablePayloadSerializer"/> reads it: the bytes as the table holds
/// them, shown as base64.
/// </summary>
public sealed class BinaryPayload
{
    /// <summary>Holds <paramref name="bytes"/>.</summary>
    public BinaryPayload(ReadOnlyMemory<byte> bytes) => Bytes = bytes;

    /// <summary>The payload's bytes.</summary>
    public ReadOnlyMemory<byte> Bytes { get; }

    /// <summary>The bytes in base64, as the command line and the dashboard show them.</summary>
    public string ToBase64() => Convert.ToBase64String(Bytes.Span);

    /// <inheritdoc/>
    public override string ToString() => "base64:" + ToBase64();
}
