namespace RxEventBus.Testing.Postgres.Tests;

// RXEB_TEST_DATABASE_URL is read once per process; what a bad value becomes is tested on the reader itself, so no
// test changes the process's environment under the others.
public sealed class PostgresTestServerUrlTests
{
    [Fact]
    public void FromUrl_NotAUrl_FailsAsAnUnavailableServerNamingTheVariableWithoutThePassword()
    {
        var act = () => PostgresTestServer.FromUrl("postgres://tester:s3cret-pw@db.example:not-a-port/app");

        act.Should().Throw<InvalidOperationException>()
            .WithMessage($"{PostgresTestServer.DatabaseUrlVariable} is not a usable database URL: *port*")
            .Which.Message.Should().NotContain("s3cret-pw");
    }

    [Fact]
    public void FromUrl_Url_ConnectsToThatServer()
    {
        var server = PostgresTestServer.FromUrl("postgres://tester:pw@db.example:6543/app");

        server.Embedded.Should().BeNull("an existing server is not ours to start or stop");
        server.ConnectionString.Should().Contain("Host=db.example").And.Contain("Port=6543");
    }
}
