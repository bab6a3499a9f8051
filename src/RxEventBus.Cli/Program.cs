// rxeventbus: the command line of RxEventBus. Wiring only: the signals, the console, the commands.
using System.Runtime.InteropServices;
using RxEventBus.Cli;

using var stop = new StopSignal();

// The first Ctrl+C (or SIGTERM, or SIGHUP) stops publishing and flushes what was accepted; a second one stops
// waiting for the flush. Either way the commands remove the throwaway cluster and print their summary, which
// the default handling — ending the process on the spot — would not let them do.
using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle(ExitCodes.Interrupted));
using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle(ExitCodes.Terminated));
using var hangUp = OperatingSystem.IsWindows() ? null : PosixSignalRegistration.Create(PosixSignal.SIGHUP, Handle(ExitCodes.HangUp));

return await CliApp.RunAsync(args, CliContext.ForConsole(stop));

Action<PosixSignalContext> Handle(int exitCode) => signal =>
{
    signal.Cancel = true;
    stop.Request(exitCode);
};

// Referencing ASP.NET Core (for the dashboard) brings a generator that makes a top-level Program public, for
// WebApplicationFactory; the tool has no public API, so Program stays internal.
internal sealed partial class Program;
