using RxEventBus.Cli.Tests.Support;
using RxEventBus.Postgres;

namespace RxEventBus.Cli.Tests;

// The command line as a user meets it, run in-process: help, usage errors and their exit code 2, and the
// password that must never reach the screen. None of these needs a database: bad values are refused before
// anything starts.
public sealed class CommandLineTests
{
    private const string Password = "s3cret-pw";

    [Fact]
    public async Task Help_ListsTheCommands()
    {
        var result = await InProcess.RunAsync("--help");

        result.ExitCode.Should().Be(ExitCodes.Success);
        result.Out.Should().Contain("rxeventbus [command] [options]").And.Contain("demo").And.Contain("query")
            .And.Contain("dead-letters").And.Contain("tail");
    }

    [Fact]
    public async Task DemoHelp_ShowsEveryFlagWithItsVariableAndTheDemoDefaults()
    {
        var result = await InProcess.RunAsync("demo", "--help");

        result.ExitCode.Should().Be(ExitCodes.Success);
        foreach (var flag in new[] { "--events", "--workers", "--batch-size", "--batch-delay-ms", "--buffer-size", "--overflow", "--topics", "--database-url", "--json", "--keep" })
        {
            result.Out.Should().Contain(flag);
        }

        var library = new PostgresPersistenceOptions();
        result.Out.Should().Contain("[env: EB_PG_POOL_SIZE]")
            .And.Contain($"Demo default: 10000 (the library's: {library.MaxBatchSize})")
            .And.Contain($"Demo default: 20000 (the library's: {library.BufferSize})")
            .And.Contain($"Demo default: 2 (the library's: {library.PoolSize})")
            .And.Contain("Default: 50.").And.Contain("Default: wait.");
    }

    [Fact]
    public async Task NoCommand_ExitsWith2()
    {
        var result = await InProcess.RunAsync();

        result.ExitCode.Should().Be(ExitCodes.Usage);
        result.Error.Should().Contain("rxeventbus --help");
    }

    [Fact]
    public async Task Demo_BadWorkersFlag_ExitsWith2NamingTheFlagWithoutAStackTrace()
    {
        var result = await InProcess.RunAsync("demo", "--workers", "abc");

        result.ExitCode.Should().Be(ExitCodes.Usage, result.ToString());
        result.Error.Should().Be("rxeventbus demo: --workers must be a positive whole number (e.g. 4), but is 'abc'." + Environment.NewLine);
        result.Out.Should().BeEmpty("nothing was started");
    }

    [Fact]
    public async Task Demo_BadWorkersVariable_ExitsWith2NamingTheVariable()
    {
        var result = await InProcess.RunAsync(new Dictionary<string, string?> { ["EB_PG_POOL_SIZE"] = "abc" }, "demo");

        result.ExitCode.Should().Be(ExitCodes.Usage, result.ToString());
        result.Error.Should().Contain("EB_PG_POOL_SIZE must be a positive whole number").And.Contain("--workers overrides it");
    }

    [Theory]
    [InlineData("--events", "abc")]
    [InlineData("--events", "0")]
    [InlineData("--events", "-5")]
    public async Task Demo_BadEvents_ExitsWith2NamingTheFlag(string flag, string value)
    {
        var result = await InProcess.RunAsync("demo", flag, value);

        result.ExitCode.Should().Be(ExitCodes.Usage, result.ToString());
        result.Error.Should().Contain($"--events must be a positive whole number (e.g. 100000), but is '{value}'.");
    }

    [Fact]
    public async Task Demo_EmptyFlagValue_ExitsWith2()
    {
        var result = await InProcess.RunAsync("demo", "--batch-size", " ");

        result.ExitCode.Should().Be(ExitCodes.Usage, result.ToString());
        result.Error.Should().Contain("--batch-size needs a value");
    }

    [Fact]
    public async Task Demo_UnknownFlag_ExitsWith2()
    {
        var result = await InProcess.RunAsync("demo", "--eventz", "5");

        result.ExitCode.Should().Be(ExitCodes.Usage, result.ToString());
        result.Error.Should().Contain("--eventz").And.Contain("rxeventbus demo --help");
    }

    [Fact]
    public async Task Demo_KeepWithDatabaseUrl_ExitsWith2()
    {
        var result = await InProcess.RunAsync("demo", "--keep", "--database-url", "postgres://app@db.example/events");

        result.ExitCode.Should().Be(ExitCodes.Usage, result.ToString());
        result.Error.Should().Contain("--keep");
    }

    [Fact]
    public async Task Demo_PersistenceDisabledInTheEnvironment_ExitsWith2()
    {
        var result = await InProcess.RunAsync(new Dictionary<string, string?> { ["EB_PG_ENABLED"] = "false" }, "demo");

        result.ExitCode.Should().Be(ExitCodes.Usage, result.ToString());
        result.Error.Should().Contain("EB_PG_ENABLED is false");
    }

    [Fact]
    public async Task Demo_BadUrlWithPassword_NeverPrintsThePassword()
    {
        var result = await InProcess.RunAsync("demo", "--database-url", $"postgres://app:{Password}@db.example:5432/events?bogus=1");

        result.ExitCode.Should().Be(ExitCodes.Usage, result.ToString());
        result.Error.Should().Contain("--database-url").And.Contain("***");
        result.All.Should().NotContain(Password);
    }

    [Fact]
    public async Task Demo_UrlWithoutItsFlag_IsRefusedWithoutPrintingThePassword()
    {
        var result = await InProcess.RunAsync("demo", $"postgres://app:{Password}@db.example:5432/events");

        result.ExitCode.Should().Be(ExitCodes.Usage, result.ToString());
        result.All.Should().NotContain(Password);
    }

    [Fact]
    public async Task Demo_UnreachableDatabase_ExitsWith1WithoutPrintingThePassword()
    {
        // Port 1 on loopback: nothing listens, the connection is refused at once.
        var result = await InProcess.RunAsync("demo", "--events", "10", "--database-url", $"postgres://app:{Password}@127.0.0.1:1/events");

        result.ExitCode.Should().Be(ExitCodes.Failure, result.ToString());
        result.Error.Should().Contain("rxeventbus demo: the database failed");
        result.Out.Should().Contain("postgres://app:***@127.0.0.1:1/events", "the run says where it writes, password hidden");
        result.All.Should().NotContain(Password).And.NotContain("   at ", "no stack trace");
    }

    [Fact]
    public async Task Query_WithoutDatabase_ExitsWith2SayingHowToGiveOne()
    {
        var result = await InProcess.RunAsync("query", "count");

        result.ExitCode.Should().Be(ExitCodes.Usage, result.ToString());
        result.Error.Should().Contain("--database-url").And.Contain("--keep");
    }

    [Theory]
    [InlineData("find", "not-a-uuid")]
    [InlineData("transaction", "12345")]
    public async Task Query_BadId_ExitsWith2(string command, string id)
    {
        var result = await InProcess.RunAsync("query", command, id, "--database-url", "postgres://app@db.example/events");

        result.ExitCode.Should().Be(ExitCodes.Usage, result.ToString());
        result.Error.Should().Contain("must be a UUID").And.Contain(id);
    }

    [Fact]
    public async Task DeadLettersHelp_ListsListReplayAndPurge()
    {
        var result = await InProcess.RunAsync("dead-letters", "--help");

        result.ExitCode.Should().Be(ExitCodes.Success, result.ToString());
        result.Out.Should().Contain("list").And.Contain("replay").And.Contain("purge").And.Contain("--database-url");
    }

    [Theory]
    [InlineData("replay")]
    [InlineData("purge")]
    public async Task DeadLetters_IdsAndAll_ExitsWith2SayingOneOrTheOther(string verb)
    {
        var result = await InProcess.RunAsync("dead-letters", verb, Guid.NewGuid().ToString(), "--all", "--database-url", "postgres://app@db.example/events");

        result.ExitCode.Should().Be(ExitCodes.Usage, result.ToString());
        result.Error.Should().Contain($"give the ids of the dead letters to {verb}, or --all, not both.")
            .And.Contain($"Run 'rxeventbus dead-letters {verb} --help'", "the hint names the subcommand by its whole path");
    }

    [Theory]
    [InlineData("replay")]
    [InlineData("purge")]
    public async Task DeadLetters_NeitherIdsNorAll_ExitsWith2(string verb)
    {
        var result = await InProcess.RunAsync("dead-letters", verb, "--database-url", "postgres://app@db.example/events");

        result.ExitCode.Should().Be(ExitCodes.Usage, result.ToString());
        result.Error.Should().Contain($"give the ids of the dead letters to {verb}, or --all for every one.", "a purge of everything must be asked for");
    }

    [Theory]
    [InlineData("replay", "--topic", "orders")]
    [InlineData("purge", "--before", "2025-01-31T12:00:00Z")]
    public async Task DeadLetters_FilterWithIds_ExitsWith2(string verb, string flag, string value)
    {
        var result = await InProcess.RunAsync("dead-letters", verb, Guid.NewGuid().ToString(), flag, value, "--database-url", "postgres://app@db.example/events");

        result.ExitCode.Should().Be(ExitCodes.Usage, result.ToString());
        result.Error.Should().Contain($"{flag} narrows --all");
    }

    [Fact]
    public async Task DeadLetters_BadId_ExitsWith2()
    {
        var result = await InProcess.RunAsync("dead-letters", "purge", Guid.NewGuid().ToString(), "12345", "--database-url", "postgres://app@db.example/events");

        result.ExitCode.Should().Be(ExitCodes.Usage, result.ToString());
        result.Error.Should().Contain("id must be a UUID").And.Contain("'12345'");
    }

    [Fact]
    public async Task DeadLetters_WithoutDatabase_ExitsWith2SayingHowToGiveOne()
    {
        var result = await InProcess.RunAsync("dead-letters", "list");

        result.ExitCode.Should().Be(ExitCodes.Usage, result.ToString());
        result.Error.Should().StartWith("rxeventbus dead-letters list: a database is needed").And.Contain("--database-url");
    }

    [Fact]
    public async Task Query_BadSince_ExitsWith2()
    {
        var result = await InProcess.RunAsync("query", "count", "--since", "yesterday", "--database-url", "postgres://app@db.example/events");

        result.ExitCode.Should().Be(ExitCodes.Usage, result.ToString());
        result.Error.Should().Contain("--since must be a time");
    }
}
