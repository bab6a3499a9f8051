using RxEventBus.Tests.Common;
using Npgsql;
using Xunit.Abstractions;

namespace RxEventBus.Postgres.Tests.Support;

[Collection(SharedPostgres.Name)]
public sealed class PostgresFixtureTests(PostgresFixture fixture)
{
    [Fact]
    public async Task CreateSchemaAsync_TwoCalls_GiveDistinctSchemasThatExist()
    {
        var first = await fixture.CreateSchemaAsync(nameof(PostgresFixtureTests));
        var second = await fixture.CreateSchemaAsync(nameof(PostgresFixtureTests));

        first.Should().NotBe(second).And.StartWith("postgresfixturetests_");
        (await Sql.ScalarAsync<long>(fixture.ConnectionString, $"select count(*) from pg_namespace where nspname in ('{first}', '{second}')"))
            .Should().Be(2);
    }

    [Fact]
    public async Task ConnectionStringFor_Schema_PutsUnqualifiedTablesInThatSchema()
    {
        var schema = await fixture.CreateSchemaAsync("Weird-Prefix!");

        await Sql.ExecuteAsync(fixture.ConnectionStringFor(schema), "create table events (id int)");

        schema.Should().MatchRegex("^weirdprefix_[a-z0-9]{8}$");
        (await Sql.ScalarAsync<string>(fixture.ConnectionString, $"select schemaname from pg_tables where tablename = 'events' and schemaname = '{schema}'"))
            .Should().Be(schema);
    }

    [Fact]
    public async Task AttachLogOnFailureAsync_FailingTest_WritesServerLogAndRethrows()
    {
        var recorder = new RecordingOutput();

        await FluentActions.Awaiting(() => fixture.AttachLogOnFailureAsync(recorder, () => throw new InvalidOperationException("boom")))
            .Should().ThrowAsync<InvalidOperationException>();

        recorder.Lines.Should().NotBeEmpty();
        if (fixture.Server is not null)
        {
            recorder.Lines.Should().Contain(l => l.Contains("ready to accept connections", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void InitializeAsync_WithoutDatabaseUrl_StartsThrowawayCluster()
    {
        if (Environment.GetEnvironmentVariable(PostgresFixture.DatabaseUrlVariable) is { Length: > 0 })
        {
            fixture.Server.Should().BeNull("the database comes from the environment");
            return;
        }

        fixture.Server.Should().NotBeNull();
        fixture.Server!.IsRunning.Should().BeTrue();
        fixture.LogPath.Should().Be(fixture.Server.LogPath);
        new NpgsqlConnectionStringBuilder(fixture.ConnectionString).Port.Should().Be(fixture.Server.Port, "the fixture's database lives on the shared cluster");
        new NpgsqlConnectionStringBuilder(fixture.ConnectionString).Database.Should().StartWith("rxeb_", "each fixture has a fresh database, not the cluster's postgres");
    }

    private sealed class RecordingOutput : ITestOutputHelper
    {
        public List<string> Lines { get; } = [];

        public void WriteLine(string message) => Lines.Add(message);

        public void WriteLine(string format, params object[] args) => Lines.Add(string.Format(System.Globalization.CultureInfo.InvariantCulture, format, args));
    }
}
