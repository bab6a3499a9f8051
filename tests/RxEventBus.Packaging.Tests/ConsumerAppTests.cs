using RxEventBus.Packaging.Tests.Support;

namespace RxEventBus.Packaging.Tests;

/// <summary>
/// A console app outside the repository, referencing every library package by version from the packed folder
/// only (package source mapping sends RxEventBus* there and everything else to the machine's feed), restored,
/// built and run: what breaks for a user when a package lost a dependency, an assembly or a public type.
/// </summary>
[Collection(SharedPackages.Name)]
public sealed class ConsumerAppTests(PackedPackages packages)
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(8);

    [Fact]
    public async Task ConsumerApp_ReferencingThePackagesFromTheFolder_RestoresBuildsAndUsesTheBus()
    {
        var app = Path.Combine(packages.Root, "consumer");
        Directory.CreateDirectory(app);
        await WriteConsumerAsync(app);

        var run = await ProcessRunner.RunAsync(
            "dotnet", ["run", "-c", "Release", "-nodeReuse:false"], app, RunTimeout,
            new Dictionary<string, string> { ["NUGET_PACKAGES"] = packages.PrivatePackagesFolder });

        run.ExitCode.Should().Be(0, "the consumer app should restore, build and run: {0}", run);
        run.Output.Should().Contain("bus: welcome Ada, welcome Grace", "the bus delivered both events to the subscriber");
        run.Output.Should().Contain("persistence: consumer built, 0 written, hosted services: PostgresPersistenceService",
            "RxEventBus.Postgres and RxEventBus.Hosting load with their dependencies (Npgsql, Microsoft.Extensions.*)");
        run.Output.Should().Contain("testing: order 42 at tick 210", "RxEventBus.Testing recorded the event at its virtual time");
        run.Output.Should().Contain("embedded: RXEB_PG_BIN");
        run.Output.Should().Contain("opentelemetry: exported rxeventbus.events.published",
            "RxEventBus.OpenTelemetry's AddRxEventBusInstrumentation() subscribed the app's meter provider to the bus's meter");
        run.Output.Should().Contain("testing.postgres: server db.example, PostgresTestDatabase",
            "RxEventBus.Testing.Postgres loads with its dependencies and reads RXEB_TEST_DATABASE_URL");

        foreach (var library in PackableProject.Libraries)
        {
            Directory.Exists(Path.Combine(packages.PrivatePackagesFolder, library.Name.ToLowerInvariant(), packages.Version))
                .Should().BeTrue($"{library.Name} {packages.Version} should have been restored from the packed folder into the private package folder");
            Directory.Exists(Path.Combine(PackedPackages.MachinePackagesFolder, library.Name.ToLowerInvariant(), packages.Version))
                .Should().BeFalse("the machine's global package folder is never written by this test");
        }
    }

    private async Task WriteConsumerAsync(string app)
    {
        await packages.WriteUserSettingsAsync(app);

        var references = string.Join("\n    ", PackableProject.Libraries
            .Select(p => $"""<PackageReference Include="{p.Name}" Version="[{packages.Version}]" />"""));
        await File.WriteAllTextAsync(Path.Combine(app, "Consumer.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
              </PropertyGroup>
              <ItemGroup>
                {references}
                <PackageReference Include="Microsoft.Extensions.DependencyInjection" Version="10.0.15" />
                <PackageReference Include="Microsoft.Extensions.Configuration" Version="10.0.15" />
                <PackageReference Include="OpenTelemetry.Exporter.InMemory" Version="1.20.1" />
              </ItemGroup>
            </Project>
            """);

        // What the package READMEs show, as a user would write it.
        await File.WriteAllTextAsync(Path.Combine(app, "Program.cs"), """
            using Microsoft.Extensions.Configuration;
            using Microsoft.Extensions.DependencyInjection;
            using Microsoft.Extensions.Hosting;
            using OpenTelemetry;
            using OpenTelemetry.Metrics;
            using RxEventBus;
            using RxEventBus.Postgres;
            using RxEventBus.Postgres.Embedded;
            using RxEventBus.Testing;
            using RxEventBus.Testing.Postgres;

            // RxEventBus: a topic, a subscriber, two events.
            using var bus = new EventBus(new EventBusOptions { Topics = ["user_created"] });
            var welcomed = new List<string>();
            using (bus.Topic<User>("user_created").Subscribe(e => welcomed.Add($"welcome {e.Data.Name}")))
            {
                bus.Publish("user_created", new User("Ada"));
                bus.Publish("user_created", new User("Grace"));
            }
            Console.WriteLine($"bus: {string.Join(", ", welcomed)}");

            // RxEventBus.Postgres and RxEventBus.Hosting: built and registered, not started (no database here).
            var url = new Dictionary<string, string?> { ["EB_PG_DATABASE_URL"] = "postgres://user:secret@127.0.0.1:5432/app" };
            await using var consumer = new PostgresConsumer(bus, PostgresPersistenceOptions.FromVariables(url));
            var configuration = new ConfigurationBuilder().AddInMemoryCollection(url).Build();
            var services = new ServiceCollection();
            services.AddRxEventBus(b => b.Topics.Add("orders")).AddPostgresPersistence(configuration);
            await using var provider = services.BuildServiceProvider();
            var hosted = provider.GetServices<IHostedService>().Select(s => s.GetType().Name);
            Console.WriteLine($"persistence: consumer built, {consumer.Statistics.Persisted} written, hosted services: {string.Join(", ", hosted)}");

            // RxEventBus.Testing: an event recorded at its virtual time.
            using var test = new TestEventBus("orders");
            var orders = test.Record<Order>("orders");
            test.PublishAt(210, "orders", new Order(42));
            test.Scheduler.Start();
            Console.WriteLine($"testing: order {orders.Events.Single().Data.Id} at tick {orders.Messages.Single().Time}");

            // RxEventBus.OpenTelemetry: the app's meter provider, wired in one line, exports the bus's counter.
            var metrics = new List<Metric>();
            using (var meters = Sdk.CreateMeterProviderBuilder().AddRxEventBusInstrumentation().AddInMemoryExporter(metrics).Build())
            {
                bus.Publish("user_created", new User("Edsger"));
                meters.ForceFlush();
            }
            Console.WriteLine($"opentelemetry: exported {string.Join(", ", metrics.Select(m => m.Name).Where(n => n == "rxeventbus.events.published").Distinct())}");

            // RxEventBus.Testing.Postgres: the shared server of a test run, here an existing one named by the variable
            // (nothing connects until a database is asked for; starting a cluster is the tool test's job).
            Environment.SetEnvironmentVariable(PostgresTestServer.DatabaseUrlVariable, "postgres://tester:pw@db.example:6543/app");
            var server = await PostgresTestServer.GetSharedAsync();
            Console.WriteLine($"testing.postgres: {(server.ConnectionString.Contains("Host=db.example", StringComparison.Ordinal) ? "server db.example" : server.ConnectionString)}, {nameof(PostgresTestDatabase)}");

            // RxEventBus.Postgres.Embedded: compiles against the package (starting a cluster is the tool test's job).
            Console.WriteLine($"embedded: {EmbeddedPostgresOptions.BinDirectoryEnvironmentVariable}");

            internal sealed record User(string Name);
            internal sealed record Order(int Id);
            """);
    }
}
