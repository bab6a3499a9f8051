namespace RxEventBus.Benchmarks;

// The payload the benchmarks publish: built once per setup, so no benchmark measures its allocation.
public sealed record OrderPlaced(int OrderId, decimal Amount);
