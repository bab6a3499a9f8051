using RxEventBus.Cli.Tests.Support;

namespace RxEventBus.Cli.Tests;

// rxeventbus tail's flags, checked while the command line is parsed: a bad value is a usage error (exit code 2)
// with one line on standard error and nothing on standard output, before any connection is made.
public sealed class TailCommandLineTests
{
    private const string Url = "postgres://app@db.example/events";

    [Fact]
    public async Task Help_ShowsEveryFlagAndTheDefaultStart()
    {
        var result = await InProcess.RunAsync("tail", "--help");

        result.ExitCode.Should().Be(ExitCodes.Success);
        foreach (var flag in new[] { "--database-url", "--schema", "--table", "--topics", "--subscription", "--from", "--count", "--json" })
        {
            result.Out.Should().Contain(flag);
        }

        result.Out.Should().Contain("[env: EB_PG_DATABASE_URL]").And.Contain("Default: end.")
            .And.Contain("A checkpoint stored for --subscription wins over it");
    }

    [Theory]
    [InlineData("--from", "middle", "--from must be 'beginning' or 'end', but is 'middle'.")]
    [InlineData("--count", "0", "--count must be a whole number of at least 1, but is '0'.")]
    [InlineData("--count", "-3", "--count must be a whole number of at least 1, but is '-3'.")]
    [InlineData("--count", "ten", "--count must be a whole number of at least 1, but is 'ten'.")]
    [InlineData("--topics", "orders;a(", "--topics must hold regexes separated by ';' (e.g. 'user_.*;order_.*'), but 'a(' is not one: ")]
    [InlineData("--topics", ";;", "--topics must hold at least one regex, separated by ';'")]
    [InlineData("--subscription", " ", "--subscription needs a name")]
    public async Task Tail_BadFlag_ExitsWith2NamingIt(string flag, string value, string message)
    {
        var result = await InProcess.RunAsync("tail", flag, value, "--database-url", Url);

        result.ExitCode.Should().Be(ExitCodes.Usage, result.ToString());
        result.Error.Should().StartWith($"rxeventbus: {message}").And.Contain("Run 'rxeventbus tail --help'");
        result.Out.Should().BeEmpty("nothing was started");
    }

    [Theory]
    [InlineData("beginning")]
    [InlineData("END")]
    public async Task Tail_FromValues_AreAccepted(string from)
    {
        // No database: the run gets as far as asking for one, so the flag itself passed.
        var result = await InProcess.RunAsync("tail", "--from", from);

        result.ExitCode.Should().Be(ExitCodes.Usage);
        result.Error.Should().StartWith("rxeventbus tail: a database is needed").And.Contain("--database-url");
    }

    [Fact]
    public void Topics_SplitOnSemicolons_TrimmedAndEveryTopicWhenLeftOut()
    {
        TailCommand.Topics(" orders ; pay_.* ;").Should().Equal("orders", "pay_.*");
        TailCommand.Topics(null).Should().Equal(".*");
    }
}
