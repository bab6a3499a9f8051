using BenchmarkDotNet.Running;

namespace RxEventBus.Benchmarks;

// Every benchmark family in this assembly, selected from the command line:
//   dotnet run -c Release --project bench/RxEventBus.Benchmarks -- --filter '*'
// and a load-robust cross-check of the same benchmarks, run side by side in one process:
//   dotnet run -c Release --project bench/RxEventBus.Benchmarks -- --interleaved
// (docs/benchmarks.md has the figures and the smoke-run variant).
public static class Program
{
    public static void Main(string[] args)
    {
        if (args is ["--interleaved"])
        {
            InterleavedComparison.Run();
            return;
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }
}
