using System.Diagnostics;
using System.Globalization;

namespace RxEventBus.PipelineBench.Infrastructure;

// What one contender cost: wall time, this process's CPU and allocations and collections, the database
// server's CPU (its postmaster and backends, when the server is ours), and this process's peak working set
// while it ran. The working set is sampled every 10 ms on a thread of its own: Process.PeakWorkingSet64 is
// process-wide and never goes down, so it cannot tell one contender from the next.
internal sealed class ResourceMeter : IDisposable
{
    private readonly int? _serverPid;
    private readonly Stopwatch _clock = new();
    private readonly Thread _sampler;
    private readonly CancellationTokenSource _stop = new();
    private readonly long _baselineWorkingSet;
    private readonly TimeSpan _cpuAtStart;
    private readonly long _allocatedAtStart;
    private readonly int[] _collectionsAtStart;
    private readonly TimeSpan _pausedAtStart;
    private readonly double _serverCpuAtStart;
    private long _peakWorkingSet;
    private long _peakManagedHeap;

    private ResourceMeter(int? serverPid)
    {
        _serverPid = serverPid;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        _baselineWorkingSet = WorkingSet();
        _peakWorkingSet = _baselineWorkingSet;
        _cpuAtStart = Process.GetCurrentProcess().TotalProcessorTime;
        _allocatedAtStart = GC.GetTotalAllocatedBytes(precise: true);
        _collectionsAtStart = [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)];
        _pausedAtStart = GC.GetTotalPauseDuration();
        _serverCpuAtStart = ServerCpuSeconds(serverPid);
        _sampler = new Thread(Sample) { IsBackground = true, Name = "working-set sampler" };
        _sampler.Start();
        _clock.Start();
    }

    internal static ResourceMeter Start(int? serverPid) => new(serverPid);

    internal Measurement Stop(long rows)
    {
        _clock.Stop();
        _stop.Cancel();
        _sampler.Join();
        return new Measurement(
            rows,
            _clock.Elapsed,
            (Process.GetCurrentProcess().TotalProcessorTime - _cpuAtStart).TotalSeconds,
            _serverPid is null ? double.NaN : ServerCpuSeconds(_serverPid) - _serverCpuAtStart,
            GC.GetTotalAllocatedBytes(precise: true) - _allocatedAtStart,
            GC.CollectionCount(0) - _collectionsAtStart[0],
            GC.CollectionCount(1) - _collectionsAtStart[1],
            GC.CollectionCount(2) - _collectionsAtStart[2],
            GC.GetTotalPauseDuration() - _pausedAtStart,
            _baselineWorkingSet,
            Interlocked.Read(ref _peakWorkingSet),
            Interlocked.Read(ref _peakManagedHeap));
    }

    public void Dispose() => _stop.Dispose();

    private void Sample()
    {
        while (!_stop.IsCancellationRequested)
        {
            var workingSet = WorkingSet();
            if (workingSet > Interlocked.Read(ref _peakWorkingSet))
            {
                Interlocked.Exchange(ref _peakWorkingSet, workingSet);
            }

            var heap = GC.GetTotalMemory(forceFullCollection: false);
            if (heap > Interlocked.Read(ref _peakManagedHeap))
            {
                Interlocked.Exchange(ref _peakManagedHeap, heap);
            }

            _stop.Token.WaitHandle.WaitOne(10);
        }
    }

    // VmRSS from /proc/self/status: cheaper than Process.Refresh() and the same number as WorkingSet64.
    private static long WorkingSet()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                var kilobytes = line["VmRSS:".Length..].Trim().Split(' ')[0];
                return long.Parse(kilobytes, CultureInfo.InvariantCulture) * 1024;
            }
        }

        return Environment.WorkingSet;
    }

    // utime+stime of the postmaster and its live children, plus cutime+cstime of the postmaster (the children
    // it has reaped). Clock ticks are 100 a second on Linux.
    internal static double ServerCpuSeconds(int? postmaster)
    {
        if (postmaster is not { } pid || !OperatingSystem.IsLinux())
        {
            return double.NaN;
        }

        long ticks = 0;
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var candidate))
            {
                continue;
            }

            string stat;
            try
            {
                stat = File.ReadAllText(Path.Combine(directory, "stat"));
            }
            catch (IOException)
            {
                continue;
            }
            catch (UnauthorizedAccessException)
            {
                continue;
            }

            // Fields after the ")" that ends the command name: state(3) ppid(4) … utime(14) stime(15) cutime(16) cstime(17).
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var ppid = int.Parse(fields[1], CultureInfo.InvariantCulture);
            if (candidate == pid)
            {
                ticks += Field(fields, 14) + Field(fields, 15) + Field(fields, 16) + Field(fields, 17);
            }
            else if (ppid == pid)
            {
                ticks += Field(fields, 14) + Field(fields, 15);
            }
        }

        return ticks / 100.0;
    }

    private static long Field(string[] fieldsFromState, int statField) =>
        long.Parse(fieldsFromState[statField - 3], CultureInfo.InvariantCulture);
}

// One contender's figures for one run.
internal sealed record Measurement(
    long Rows,
    TimeSpan Elapsed,
    double ClientCpuSeconds,
    double ServerCpuSeconds,
    long AllocatedBytes,
    int Gen0,
    int Gen1,
    int Gen2,
    TimeSpan GcPause,
    long BaselineWorkingSet,
    long PeakWorkingSet,
    long PeakManagedHeap)
{
    internal double RowsPerSecond => Rows / Elapsed.TotalSeconds;

    internal double AllocatedPerRow => Rows == 0 ? 0 : (double)AllocatedBytes / Rows;

    internal double PeakWorkingSetMegabytes => PeakWorkingSet / 1048576.0;

    internal double WorkingSetGrowthMegabytes => (PeakWorkingSet - BaselineWorkingSet) / 1048576.0;
}
