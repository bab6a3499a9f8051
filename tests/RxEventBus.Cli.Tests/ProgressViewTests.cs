using RxEventBus.Postgres;
using Spectre.Console;

namespace RxEventBus.Cli.Tests;

public sealed class ProgressViewTests
{
    private static readonly DemoProgress Progress = new(
        Requested: 100_000,
        Published: 60_000,
        Statistics: new PersistenceStatistics(60_000, 50_000, 3, 0, 2, 5, 10_000),
        Pending: 10_000,
        Elapsed: TimeSpan.FromSeconds(2),
        Phase: "publishing");

    [Fact]
    public void Line_HoldsEveryFigure()
    {
        ProgressView.Line(Progress).Should().Be(
            "[  2.0 s] publishing: published 60,000/100,000, persisted 50,000, pending 10,000, 25,000 events/s, batches 5, retries 2, drops 3");
    }

    [Fact]
    public void LivePanel_HoldsEveryFigure()
    {
        var writer = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
        });

        console.Write(ProgressView.Live.Render(Progress));

        writer.ToString().Should().Contain("published").And.Contain("60,000").And.Contain("50,000").And.Contain("25,000")
            .And.Contain("50 % of 100,000 persisted");
    }

    [Fact]
    public async Task Plain_WritesLinesUntilStopped()
    {
        var writer = new StringWriter();
        using var stop = new CancellationTokenSource();
        var view = ProgressView.Create(writer, terminal: false, TimeSpan.FromMilliseconds(10));
        var readings = 0;

        await view.ShowAsync(
            () =>
            {
                if (++readings == 3)
                {
                    stop.Cancel();
                }

                return Progress;
            },
            stop.Token).WaitAsync(TimeSpan.FromSeconds(30));

        writer.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().HaveCount(3);
    }
}
