using Npgsql;
using RxEventBus.Tests.Common;

namespace RxEventBus.Testing.Postgres.Tests;

// The kit as a user's test classes use it: each class its own database, all on one server per process, and
// nothing left behind once a class is done.
public sealed class PostgresTestDatabaseTests
{
    [Fact]
    public async Task CreateAsync_TwoTestClasses_GetDistinctDatabasesOnOneServer()
    {
        await using var first = await PostgresTestDatabase.CreateAsync("FirstClass");
        await using var second = await PostgresTestDatabase.CreateAsync("SecondClass");

        first.Server.Should().BeSameAs(second.Server, "one server serves the whole test process");
        first.Name.Should().MatchRegex("^firstclass_[a-z0-9]{8}$");
        second.Name.Should().MatchRegex("^secondclass_[a-z0-9]{8}$");
        (await Sql.ScalarAsync<string>(first.ConnectionString, "select current_database()")).Should().Be(first.Name);
        (await Sql.ScalarAsync<string>(second.ConnectionString, "select current_database()")).Should().Be(second.Name);
        (await Sql.ScalarAsync<int>(first.ConnectionString, "select inet_server_port()"))
            .Should().Be(await Sql.ScalarAsync<int>(second.ConnectionString, "select inet_server_port()"));
    }

    [Fact]
    public async Task CreateAsync_TableInOneDatabase_IsNotSeenInAnother()
    {
        await using var first = await PostgresTestDatabase.CreateAsync("Isolated");
        await using var second = await PostgresTestDatabase.CreateAsync("Isolated");
        await Sql.ExecuteAsync(first.ConnectionString, "create table events (id int)");

        first.Name.Should().NotBe(second.Name, "the same prefix still gives each class its own database");
        (await Sql.ScalarAsync<long>(second.ConnectionString, "select count(*) from pg_tables where tablename = 'events'"))
            .Should().Be(0, "classes never see each other's tables");
        await using var command = first.DataSource.CreateCommand("select count(*) from events");
        ((long)(await command.ExecuteScalarAsync())!).Should().Be(0, "the data source reaches the class's own database");
    }

    [Fact]
    public async Task DisposeAsync_WithSessionsStillOpen_DropsTheDatabase()
    {
        var database = await PostgresTestDatabase.CreateAsync("Dropped");
        // The code under test's own pool, still holding a connection, as a forgotten consumer would.
        await using var usersPool = NpgsqlDataSource.Create(database.ConnectionString);
        await using var open = await usersPool.OpenConnectionAsync();

        await database.DisposeAsync();
        await database.DisposeAsync();

        (await Sql.ScalarAsync<long>(database.Server.ConnectionString, $"select count(*) from pg_database where datname = '{database.Name}'"))
            .Should().Be(0, "a finished class leaves no database behind");
        var query = () => database.DataSource.OpenConnectionAsync().AsTask();
        await query.Should().ThrowAsync<ObjectDisposedException>("the data source goes with the database");
    }

    [Fact]
    public async Task CreateAsync_PrefixOfAnyCharacters_GivesANameThatNeedsNoQuoting()
    {
        await using var odd = await PostgresTestDatabase.CreateAsync("Weird-Prefix! ü");
        await using var digits = await PostgresTestDatabase.CreateAsync("42");

        odd.Name.Should().MatchRegex("^weirdprefix_[a-z0-9]{8}$");
        digits.Name.Should().MatchRegex("^t42_[a-z0-9]{8}$", "a name starts with a letter");
    }

    [Fact]
    public async Task GetSharedAsync_ManyClassesAtOnce_StartOneServer()
    {
        var servers = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => PostgresTestServer.GetSharedAsync())));

        servers.Distinct().Should().ContainSingle("classes starting in parallel share the one server");
        if (Environment.GetEnvironmentVariable(PostgresTestServer.DatabaseUrlVariable) is not { Length: > 0 })
        {
            servers[0].Embedded.Should().NotBeNull();
            servers[0].Embedded!.IsRunning.Should().BeTrue();
            servers[0].ReadLogTail().Should().Contain("ready to accept connections");
        }
    }
}
