using RxEventBus.Packaging.Tests.Support;

namespace RxEventBus.Packaging.Tests;

/// <summary>
/// RxEventBus.Testing.Postgres promises to work with xunit v3, NUnit and MSTest alike. Each framework gets a test
/// project outside the repository, written as docs/postgres-tests.md shows, that restores the kit from the packed
/// folder, takes a database per class, persists three events through a real consumer and counts them; the
/// framework's own runner must report that one test passed.
/// </summary>
[Collection(SharedPackages.Name)]
public sealed class TestFrameworkTests(PackedPackages packages)
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(8);

    // The body every framework's test runs, against the class's database (Database).
    private const string PersistAndCount = """
                using var bus = new EventBus(new EventBusOptions { Topics = ["orders"] });
                await using var consumer = new PostgresConsumer(bus, new PostgresPersistenceOptions
                {
                    ConnectionString = Database.ConnectionString, Topics = ["orders"], MaxBatchDelay = TimeSpan.FromMilliseconds(10),
                });
                await consumer.StartAsync();
                for (var i = 0; i < 3; i++)
                {
                    bus.Publish("orders", new Order(i));
                }

                await consumer.StopAsync();
                var count = await consumer.Store.CountAsync();
        """;

    [Theory]
    [InlineData("xunit.v3")]
    [InlineData("NUnit")]
    [InlineData("MSTest")]
    public async Task TestKit_InThatFrameworksTestProject_GivesEachClassADatabaseTheConsumerWritesTo(string framework)
    {
        var project = Path.Combine(packages.Root, "framework-" + framework.ToLowerInvariant());
        Directory.CreateDirectory(project);
        await packages.WriteUserSettingsAsync(project);
        var (references, code) = Project(framework);
        await File.WriteAllTextAsync(Path.Combine(project, "KitTests.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                {(framework == "xunit.v3" ? "<OutputType>Exe</OutputType>" : "")}
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="RxEventBus.Testing.Postgres" Version="[{packages.Version}]" />
                {references}
              </ItemGroup>
            </Project>
            """);
        await File.WriteAllTextAsync(Path.Combine(project, "OrderHistoryTests.cs"), $$"""
            using RxEventBus;
            using RxEventBus.Postgres;
            using RxEventBus.Testing.Postgres;
            {{code.Replace("BODY", PersistAndCount, StringComparison.Ordinal)}}

            public sealed record Order(int Id);
            """);

        // xunit v3 test projects are programs that run their own tests; on the .NET 10 SDK `dotnet test` would
        // need the new test platform switched on for the whole solution, which is the user's choice, not ours.
        // (No -nodeReuse:false after `dotnet run`: it would reach the test program; ProcessRunner's environment
        // already keeps MSBuild nodes from outliving the command.)
        string[] command = framework == "xunit.v3"
            ? ["run", "-c", "Release"]
            : ["test", "-c", "Release", "-nodeReuse:false"];
        var run = await ProcessRunner.RunAsync("dotnet", command, project, RunTimeout,
            new Dictionary<string, string> { ["NUGET_PACKAGES"] = packages.PrivatePackagesFolder, ["NO_COLOR"] = "1" });

        run.ExitCode.Should().Be(0, "the {0} project should restore the kit, and its one test pass: {1}", framework, run);
        if (framework == "xunit.v3")
        {
            run.Output.Should().MatchRegex(@"Total: 1, Errors: 0, Failed: 0", "xunit ran the test and it passed");
        }
        else
        {
            run.Output.Should().MatchRegex(@"Passed!\s+-\s+Failed:\s+0,\s+Passed:\s+1,", "{0} ran the test and it passed", framework);
        }
    }

    private static (string References, string Code) Project(string framework) => framework switch
    {
        "xunit.v3" => (
            """<PackageReference Include="xunit.v3" Version="4.0.2" />""",
            """
            using Xunit;

            public sealed class OrderDatabase : IAsyncLifetime
            {
                public PostgresTestDatabase Database { get; private set; } = null!;

                public async ValueTask InitializeAsync() => Database = await PostgresTestDatabase.CreateAsync(nameof(OrderHistoryTests));

                public async ValueTask DisposeAsync() => await Database.DisposeAsync();
            }

            public sealed class OrderHistoryTests(OrderDatabase db) : IClassFixture<OrderDatabase>
            {
                private PostgresTestDatabase Database => db.Database;

                [Fact]
                public async Task Persisted_Orders_AreCounted()
                {
            BODY
                    Assert.Equal(3, count);
                }
            }
            """),
        "NUnit" => (
            """
            <PackageReference Include="NUnit" Version="5.0.0" />
                <PackageReference Include="NUnit3TestAdapter" Version="6.3.1" />
                <PackageReference Include="Microsoft.NET.Test.Sdk" Version="18.0.1" />
            """,
            """
            using NUnit.Framework;

            public sealed class OrderHistoryTests
            {
                private PostgresTestDatabase Database = null!;

                [OneTimeSetUp]
                public async Task CreateDatabase() => Database = await PostgresTestDatabase.CreateAsync(nameof(OrderHistoryTests));

                [OneTimeTearDown]
                public async Task DropDatabase() => await Database.DisposeAsync();

                [Test]
                public async Task Persisted_Orders_AreCounted()
                {
            BODY
                    Assert.That(count, Is.EqualTo(3));
                }
            }
            """),
        "MSTest" => (
            """<PackageReference Include="MSTest" Version="4.5.2" />""",
            """
            using Microsoft.VisualStudio.TestTools.UnitTesting;

            [TestClass]
            public sealed class OrderHistoryTests
            {
                private static PostgresTestDatabase Database = null!;

                [ClassInitialize]
                public static async Task CreateDatabase(TestContext _) => Database = await PostgresTestDatabase.CreateAsync(nameof(OrderHistoryTests));

                [ClassCleanup]
                public static async Task DropDatabase() => await Database.DisposeAsync();

                [TestMethod]
                public async Task Persisted_Orders_AreCounted()
                {
            BODY
                    Assert.AreEqual(3, count);
                }
            }
            """),
        _ => throw new ArgumentOutOfRangeException(nameof(framework), framework, "no project for that framework"),
    };
}
