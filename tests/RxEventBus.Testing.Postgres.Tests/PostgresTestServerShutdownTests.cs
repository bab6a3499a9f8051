namespace RxEventBus.Testing.Postgres.Tests;

// Runs after every parallel test class is done (xunit runs collections that disable parallelization last), so
// stopping the shared server disturbs no other test.
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ServerShutdown
{
    public const string Name = "Shared server shutdown";
}

[Collection(ServerShutdown.Name)]
public sealed class PostgresTestServerShutdownTests
{
    [Fact]
    public async Task ShutdownAsync_ThrowawayCluster_StopsItRemovesItsFolderAndTheNextCallStartsAnother()
    {
        if (Environment.GetEnvironmentVariable(PostgresTestServer.DatabaseUrlVariable) is { Length: > 0 })
        {
            return; // not our server to stop
        }

        var before = await PostgresTestServer.GetSharedAsync();
        var folder = before.Embedded!.RootDirectory;

        await PostgresTestServer.ShutdownAsync();
        var after = await PostgresTestServer.GetSharedAsync();
        await using var database = await after.CreateDatabaseAsync("afterShutdown");

        before.Embedded.IsRunning.Should().BeFalse();
        Directory.Exists(folder).Should().BeFalse("the cluster's folder is removed when it stops");
        after.Should().NotBeSameAs(before);
        after.Embedded!.IsRunning.Should().BeTrue();
        (await RxEventBus.Tests.Common.Sql.ScalarAsync<string>(database.ConnectionString, "select current_database()")).Should().Be(database.Name);
    }
}
