using BenchmarkDotNet.Running;

namespace RxEventBus.Benchmarks;

// Every benchmark family in this assembly, selected from the command line:
//   dotnet run -c Release --project bench/RxEventBus.Benchmarks -- --filter '*'
// (docs/benchmarks.md has the figures and the smoke-run variant).
public static class Program
{
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
