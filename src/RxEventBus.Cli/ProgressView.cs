using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace RxEventBus.Cli;

/// <summary>
/// Shows a demo run while it goes: a live panel on a terminal (Spectre.Console), or a plain line every
/// interval when the output is redirected, so logs and pipes get something readable.
/// </summary>
internal abstract class ProgressView
{
    /// <summary>The live panel when <paramref name="writer"/> is a terminal, plain lines otherwise.</summary>
    public static ProgressView Create(TextWriter writer, bool terminal, TimeSpan interval) => terminal
        ? new Live(AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(writer) }))
        : new Plain(writer, interval);

    /// <summary>Shows <paramref name="read"/>'s readings until <paramref name="until"/> fires, then returns.</summary>
    public abstract Task ShowAsync(Func<DemoProgress> read, CancellationToken until);

    /// <summary>One line for logs: every figure of <paramref name="progress"/>.</summary>
    public static string Line(DemoProgress progress)
    {
        var s = progress.Statistics;
        return string.Create(
            CultureInfo.InvariantCulture,
            $"[{progress.Elapsed.TotalSeconds,5:0.0} s] {progress.Phase}: published {progress.Published:N0}/{progress.Requested:N0}, " +
            $"persisted {s.Persisted:N0}, pending {progress.Pending:N0}, {progress.EventsPerSecond:N0} events/s, " +
            $"batches {s.Batches:N0}, retries {s.Retries:N0}, drops {s.Dropped:N0}");
    }

    // Waits for the next tick; false once the view should stop.
    private static async Task<bool> TickAsync(PeriodicTimer timer, CancellationToken until)
    {
        try
        {
            return await timer.WaitForNextTickAsync(until);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private sealed class Plain(TextWriter writer, TimeSpan interval) : ProgressView
    {
        public override async Task ShowAsync(Func<DemoProgress> read, CancellationToken until)
        {
            using var timer = new PeriodicTimer(interval);
            while (await TickAsync(timer, until))
            {
                await writer.WriteLineAsync(Line(read()));
                await writer.FlushAsync(CancellationToken.None);
            }
        }
    }

    internal sealed class Live(IAnsiConsole console) : ProgressView
    {
        private static readonly TimeSpan _refresh = TimeSpan.FromMilliseconds(200);

        public override Task ShowAsync(Func<DemoProgress> read, CancellationToken until) =>
            console.Live(Render(read())).AutoClear(false).StartAsync(async context =>
            {
                using var timer = new PeriodicTimer(_refresh);
                while (await TickAsync(timer, until))
                {
                    context.UpdateTarget(Render(read()));
                }

                // The last frame stays on screen, above the summary.
                context.UpdateTarget(Render(read()));
                context.Refresh();
            });

        public static IRenderable Render(DemoProgress progress)
        {
            var s = progress.Statistics;
            var table = new Table().Border(TableBorder.Simple)
                .AddColumns("published", "persisted", "pending", "events/s", "batches", "retries", "drops");
            foreach (var column in table.Columns)
            {
                column.RightAligned();
            }

            table.AddRow(
                Count(progress.Published),
                Count(s.Persisted),
                Count(progress.Pending),
                Count((long)progress.EventsPerSecond),
                Count(s.Batches),
                Count(s.Retries),
                Count(s.Dropped));
            var done = progress.Requested == 0 ? 1 : Math.Clamp((double)s.Persisted / progress.Requested, 0, 1);
            var phase = new Markup(string.Create(
                CultureInfo.InvariantCulture,
                $"[bold]{Markup.Escape(progress.Phase)}[/]  [grey]{progress.Elapsed.TotalSeconds:0.0} s[/]"));
            var bar = new Markup(string.Create(
                CultureInfo.InvariantCulture,
                $"{Bar(done, 30)} {done:P0} of {progress.Requested:N0} persisted"));
            return new Panel(new Rows(phase, bar, table)).Header("rxeventbus demo").Border(BoxBorder.Rounded);
        }

        private static string Count(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

        private static string Bar(double done, int width)
        {
            var filled = (int)Math.Round(done * width);
            return $"[green]{new string('━', filled)}[/][grey]{new string('━', width - filled)}[/]";
        }
    }
}
