using System.CommandLine;
using System.Globalization;
using RxEventBus.Postgres;

namespace RxEventBus.Cli.Tests;

// Which value wins (flag, then environment, then the demo's default, then the library's), and how a bad value
// is reported: naming what the user typed.
public sealed class OptionBindingTests
{
    private const string Url = "postgres://app:pw@db.example:5432/events";

    [Fact]
    public void Bind_NothingSet_TakesTheDemoDefaultsOverTheLibrarys()
    {
        var options = Bind([]);

        options.MaxBatchSize.Should().Be(10_000);
        options.BufferSize.Should().Be(20_000);
        options.PoolSize.Should().Be(2);
        options.MaxBatchDelay.Should().Be(new PostgresPersistenceOptions().MaxBatchDelay, "the demo has no default of its own for it");
    }

    [Fact]
    public void Bind_VariableSet_WinsOverTheDemoDefault()
    {
        var options = Bind([], ("EB_PG_POOL_SIZE", "3"), ("EB_PG_BUFFER_SIZE", "500"));

        options.PoolSize.Should().Be(3);
        options.BufferSize.Should().Be(500);
    }

    [Fact]
    public void Bind_FlagAndVariableSet_FlagWins()
    {
        var options = Bind(["--workers", "4", "--overflow", "drop_oldest", "--topics", "a;b"], ("EB_PG_POOL_SIZE", "3"), ("EB_PG_OVERFLOW", "fail"));

        options.PoolSize.Should().Be(4);
        options.Overflow.Should().Be(OverflowPolicy.DropOldest);
        options.Topics.Should().Equal("a", "b");
    }

    [Fact]
    public void Bind_MaxDemandInEnvironment_IsUsedInsteadOfTheDemoBatchSize()
    {
        // The demo's default is set as EB_PG_BATCH_SIZE: applied beside EB_PG_MAX_DEMAND it would contradict it.
        Bind([], ("EB_PG_MAX_DEMAND", "300")).MaxBatchSize.Should().Be(300);
    }

    [Fact]
    public void Bind_BatchSizeFlagWithMaxDemandInEnvironment_FlagWinsWithoutAConflict()
    {
        Bind(["--batch-size", "250"], ("EB_PG_MAX_DEMAND", "300")).MaxBatchSize.Should().Be(250);
    }

    [Fact]
    public void Bind_DatabaseLater_NeedsNoUrlButChecksEveryOtherSetting()
    {
        var options = BindCommandLine([], [], databaseLater: true);
        var bad = () => BindCommandLine(["--workers", "11"], [], databaseLater: true);

        options.ConnectionString.Should().BeEmpty("the demo sets its throwaway cluster's once it has started");
        options.PoolSize.Should().Be(int.Parse(DemoCommand.Defaults["EB_PG_POOL_SIZE"], CultureInfo.InvariantCulture));
        bad.Should().Throw<CliUsageException>().WithMessage("--workers must not exceed EB_PG_DATABASE_POOL_SIZE (10)*",
            "a bad flag fails before the cluster is started");
    }

    [Theory]
    [InlineData("--workers", "abc", "--workers must be a positive whole number")]
    [InlineData("--workers", "0", "--workers must be a positive whole number")]
    [InlineData("--workers", "11", "--workers must not exceed EB_PG_DATABASE_POOL_SIZE (10)")]
    [InlineData("--batch-size", "-5", "--batch-size must be a positive whole number")]
    [InlineData("--batch-delay-ms", "soon", "--batch-delay-ms must be a positive whole number of milliseconds")]
    [InlineData("--buffer-size", "1e3", "--buffer-size must be a positive whole number")]
    [InlineData("--overflow", "sometimes", "--overflow must be wait, drop_oldest, drop_newest or fail")]
    [InlineData("--topics", "(", "--topics must hold regexes")]
    [InlineData("--schema", "bad-name", "Schema (--schema) must be a plain identifier")]
    [InlineData("--database-url", "mysql://x@h/db", "--database-url must be postgres://")]
    public void Bind_BadFlagValue_NamesTheFlag(string flag, string value, string expected)
    {
        var bind = () => Bind([flag, value]);

        bind.Should().Throw<CliUsageException>().Which.Message.Should().Contain(expected).And.Contain(value, "the message shows what was typed");
    }

    [Fact]
    public void Bind_BadVariable_NamesTheVariableAndTheFlagThatOverridesIt()
    {
        var bind = () => Bind([], ("EB_PG_POOL_SIZE", "many"));

        bind.Should().Throw<CliUsageException>().Which.Message.Should()
            .StartWith("EB_PG_POOL_SIZE must be a positive whole number (e.g. 4), but is 'many'.")
            .And.Contain("set in the environment; --workers overrides it");
    }

    [Fact]
    public void Bind_DemoDefaultBreaksARuleWithAVariable_SaysTheValueIsTheDefault()
    {
        var bind = () => Bind([], ("EB_PG_DATABASE_POOL_SIZE", "1"));

        bind.Should().Throw<CliUsageException>().Which.Message.Should()
            .Contain("--workers must not exceed EB_PG_DATABASE_POOL_SIZE (1)")
            .And.Contain("'2' is this command's default for --workers");
    }

    [Fact]
    public void Bind_BadUrlWithPassword_NeverShowsThePassword()
    {
        var bind = () => Bind(["--database-url", "postgres://app:s3cret-pw@db.example/events?bogus=1"]);

        bind.Should().Throw<CliUsageException>().Which.Message.Should().NotContain("s3cret-pw").And.Contain("--database-url");
    }

    private static PostgresPersistenceOptions Bind(string[] args, params (string Name, string Value)[] environment) =>
        BindCommandLine(args.Contains("--database-url") ? args : ["--database-url", Url, .. args], environment);

    private static PostgresPersistenceOptions BindCommandLine(string[] args, (string Name, string Value)[] environment, bool databaseLater = false)
    {
        var flags = PersistenceFlags.ForDemo(DemoCommand.Defaults);
        var command = new Command("demo");
        flags.AddTo(command);
        var parse = command.Parse(args);
        parse.Errors.Should().BeEmpty();
        var variables = environment.ToDictionary(v => v.Name, v => v.Value);
        return OptionBinding.Bind(parse, flags.All, name => variables.GetValueOrDefault(name), DemoCommand.Defaults, databaseLater);
    }
}
