using Npgsql;

namespace RxEventBus.Postgres.Tests.Configuration;

public sealed class DatabaseUrlTests
{
    private const string Secret = "s3cr3t";

    private static NpgsqlConnectionStringBuilder Convert(string value) => new(DatabaseUrl.ToConnectionString(value));

    private static ArgumentException ConvertFails(string value)
    {
        var convert = () => DatabaseUrl.ToConnectionString(value);
        return convert.Should().Throw<ArgumentException>().Which;
    }

    // Bad inputs that carry the password "s3cr3t-P@ss" (raw, percent-encoded or quoted) in every place it
    // could end up in an error: the URL's user info, a query parameter, a keyword, a misplaced value.
    public static TheoryData<string> BadInputsWithAPassword =>
    [
        "postgres://app:s3cr3t-P%40ss@db.example:abc/events",
        "postgres://app:s3cr3t-P%40ss@db.example:70000/events",
        "postgres://app:s3cr3t-P%40ss@db.example/events?bogus=1",
        "postgres://app:s3cr3t-P%40ss@db.example/events?sslmode=s3cr3t-P%40ss",
        "postgres://app:s3cr3t-P%40ss@db.example/events?application_name=x&application_name=y",
        "postgres://app:s3cr3t-P%40ss@db.example/a/b",
        "postgres://app:s3cr3t-P%40ss@[::1/events",
        "postgres://app:s3cr3t-P%40ss@/events",
        "postgres://app:s3cr3t-P%ZZss@db.example/events",
        "postgres://app:s3cr3t/P@ss@db.example/events",
        "postgres://app:s3cr3t?P@ss@db.example/events",
        "postgres://app:s3cr3t#P@ss@db.example/events",
        "postgres://app@db.example/events?password=s3cr3t-P%40ss&bogus=1",
        "postgres://app@db.example/events?password=s3cr3t-P%40ss&connect_timeout=s3cr3t-P%40ss",
        "mysql://app:s3cr3t-P%40ss@db.example/events",
        "Host=db.example;Password=s3cr3t-P@ss;Bogus=1",
        "Host=db.example;Password=s3cr3t-P@ss;Port=abc",
        "Host=db.example;Password=s3cr3t-P@ss;Port=s3cr3t-P@ss",
        "Host=db.example;Password=\"s3cr3t-P@ss\";Pooling=maybe",
        "Host=db.example;Password='s3cr3t-P@ss",
        "Host=db.example;PWD=s3cr3t-P@ss;Server=other",
        "Host=db.example;SSL Password=s3cr3t-P@ss;SSL Mode=sometimes",
        "Password=s3cr3t-P@ss;Database=events",
        "Host=db.example;s3cr3t-P@ss",
    ];

    [Fact]
    public void ToConnectionString_FullUrl_MapsUserPasswordHostPortAndDatabase()
    {
        var builder = Convert("postgres://app:pw@db.example:6543/events");

        builder.Username.Should().Be("app");
        builder.Password.Should().Be("pw");
        builder.Host.Should().Be("db.example");
        builder.Port.Should().Be(6543);
        builder.Database.Should().Be("events");
    }

    [Theory]
    [InlineData("postgres://app@db.example/events")]
    [InlineData("postgresql://app@db.example/events")]
    [InlineData("POSTGRES://app@db.example/events")]
    [InlineData("  postgres://app@db.example/events  ")]
    public void ToConnectionString_EitherSchemeInAnyCase_IsAccepted(string url)
    {
        Convert(url).Host.Should().Be("db.example");
    }

    [Fact]
    public void ToConnectionString_NoPort_Uses5432()
    {
        DatabaseUrl.ToConnectionString("postgres://app@db.example/events").Should().Contain("Port=5432", "the default port is written out, so logs show it");
    }

    [Fact]
    public void ToConnectionString_PercentEncodedPasswordWithAtAndColon_IsDecoded()
    {
        var builder = Convert("postgres://app:p%40ss%3Aw%2Frd%25@db.example/events");

        builder.Password.Should().Be("p@ss:w/rd%");
        builder.Host.Should().Be("db.example");
    }

    [Fact]
    public void ToConnectionString_PercentEncodedUserAndDatabase_AreDecoded()
    {
        var builder = Convert("postgres://app%40corp@db.example/my%20events");

        builder.Username.Should().Be("app@corp");
        builder.Database.Should().Be("my events");
    }

    [Fact]
    public void ToConnectionString_RawAtInPassword_TheLastAtEndsTheUserInfo()
    {
        var builder = Convert("postgres://app:s3cr3t-P@ss@db.example/events");

        builder.Password.Should().Be("s3cr3t-P@ss");
        builder.Host.Should().Be("db.example");
    }

    [Theory]
    [InlineData("postgres://app@[::1]:5433/events", "::1", 5433)]
    [InlineData("postgres://app@[2001:db8::5]/events", "2001:db8::5", 5432)]
    [InlineData("postgres://[fe80::1]:6000", "fe80::1", 6000)]
    public void ToConnectionString_Ipv6HostInBrackets_IsTheHostWithoutBrackets(string url, string host, int port)
    {
        var builder = Convert(url);

        builder.Host.Should().Be(host, "Npgsql takes a bare IPv6 address");
        builder.Port.Should().Be(port);
    }

    [Theory]
    [InlineData("disable", SslMode.Disable)]
    [InlineData("allow", SslMode.Allow)]
    [InlineData("prefer", SslMode.Prefer)]
    [InlineData("require", SslMode.Require)]
    [InlineData("verify-ca", SslMode.VerifyCA)]
    [InlineData("verify-full", SslMode.VerifyFull)]
    [InlineData("REQUIRE", SslMode.Require)]
    public void ToConnectionString_SslModeParameter_BecomesNpgsqlSslMode(string value, SslMode expected)
    {
        Convert($"postgres://app@db.example/events?sslmode={value}").SslMode.Should().Be(expected);
    }

    [Fact]
    public void ToConnectionString_LibpqParameters_BecomeTheirNpgsqlKeywords()
    {
        var builder = Convert(
            "postgres://app@db.example/events?application_name=event%20bus&connect_timeout=7" +
            "&target_session_attrs=read-write&keepalives=1&keepalives_idle=30&options=-c%20search_path%3Dbus");

        builder.ApplicationName.Should().Be("event bus");
        builder.Timeout.Should().Be(7);
        builder.TargetSessionAttributes.Should().Be("read-write");
        builder.TcpKeepAlive.Should().BeTrue();
        builder.TcpKeepAliveTime.Should().Be(30);
        builder.Options.Should().Be("-c search_path=bus");
    }

    [Fact]
    public void ToConnectionString_SecurityAndRoutingParameters_BecomeTheirNpgsqlKeywords()
    {
        var builder = Convert(
            "postgres://app@db.example/events?sslmode=require&sslnegotiation=direct&channel_binding=require" +
            "&gssencmode=disable&load_balance_hosts=random&client_encoding=UTF8&krbsrvname=pg");

        builder.SslNegotiation.Should().Be(SslNegotiation.Direct);
        builder.ChannelBinding.Should().Be(ChannelBinding.Require);
        builder.GssEncryptionMode.Should().Be(GssEncryptionMode.Disable);
        builder.LoadBalanceHosts.Should().BeTrue();
        builder.ClientEncoding.Should().Be("UTF8");
        builder.KerberosServiceName.Should().Be("pg");
    }

    [Fact]
    public void ToConnectionString_NpgsqlKeywordAsParameter_IsAccepted()
    {
        Convert("postgres://app@db.example/events?Include%20Error%20Detail=true").IncludeErrorDetail.Should().BeTrue();
    }

    [Fact]
    public void ToConnectionString_HostParameter_ReachesAUnixSocketDirectory()
    {
        var builder = Convert("postgres:///events?host=/var/run/postgresql&user=app");

        builder.Host.Should().Be("/var/run/postgresql");
        builder.Username.Should().Be("app");
        builder.Database.Should().Be("events");
    }

    [Fact]
    public void ToConnectionString_EncodedSocketDirectoryAsHost_IsAccepted()
    {
        Convert("postgres://app@%2Ftmp%2Fpg/events").Host.Should().Be("/tmp/pg");
    }

    [Fact]
    public void ToConnectionString_EncodedSocketDirectoryWithPort_SplitsAtTheColon()
    {
        var builder = Convert("postgres://app@%2Ftmp%2Fpg:5433/events");

        builder.Host.Should().Be("/tmp/pg");
        builder.Port.Should().Be(5433);
    }

    [Theory]
    [InlineData("postgres://app@db.example./events", "db.example.")]
    [InlineData("postgres://app@db_1/events", "db_1")]
    [InlineData("postgres://app@10.0.0.5/events", "10.0.0.5")]
    [InlineData("postgres:///events?host=db.internal", "db.internal")]
    public void ToConnectionString_HostSystemUriReadsAsANameOrIPv4_IsKeptAsWritten(string url, string host)
    {
        Convert(url).Host.Should().Be(host);
    }

    [Fact]
    public void ToConnectionString_NoUserPasswordOrDatabase_LeavesThemToNpgsql()
    {
        var builder = Convert("postgres://db.example");

        builder.Host.Should().Be("db.example");
        builder.Username.Should().BeNull("Npgsql falls back to PGUSER or the OS user");
        builder.Password.Should().BeNull();
        builder.Database.Should().BeNull("the server then picks the database named after the user");
    }

    [Fact]
    public void ToConnectionString_EmptyPassword_SetsNoPassword()
    {
        Convert("postgres://app:@db.example/events").Password.Should().BeNull();
    }

    [Theory]
    [InlineData("Host=localhost;Username=app;Password=pw;Database=events")]
    [InlineData("Server=db.example;Port=6543;User Id=app;Database=events;SSL Mode=Require;Include Error Detail=true")]
    [InlineData("host=/var/run/postgresql;database=events")]
    [InlineData("Host=db.example;Password=\"a;b'c\"")]
    public void ToConnectionString_NpgsqlForm_PassesThroughUnchanged(string connectionString)
    {
        DatabaseUrl.ToConnectionString(connectionString).Should().Be(connectionString);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("   ", "empty")]
    [InlineData("mysql://app@db.example/events", "scheme 'mysql://' is not supported")]
    [InlineData("postgres://app@db.example:abc/events", "port must be a whole number from 1 to 65535")]
    [InlineData("postgres://app@db.example:0/events", "port must be a whole number from 1 to 65535")]
    [InlineData("postgres://app@db.example:70000/events", "port must be a whole number from 1 to 65535")]
    [InlineData("postgres://app@db.example:/events", "port must be a whole number from 1 to 65535")]
    [InlineData("postgres://app@[::1/events", "no closing ']'")]
    [InlineData("postgres://app@[db.example]/events", "not an IPv6 address")]
    [InlineData("postgres://app@[::1]x/events", "only ':port' may follow")]
    [InlineData("postgres://app@::1/events", "must be written in brackets")]
    [InlineData("postgres://app@db 1/events", "not a host name")]
    [InlineData("postgres://app@db..example/events", "not a host name")]
    [InlineData("postgres:///events?host=db%201", "not a host name")]
    [InlineData("postgres:///events?host=db.example&port=0", "port must be a whole number from 1 to 65535")]
    [InlineData("postgres://app@[::1]:/events", "port must be a whole number from 1 to 65535")]
    [InlineData("postgres://app@db1,db2/events", "several hosts")]
    [InlineData("postgres:///events", "no host")]
    [InlineData("postgres://app@db.example/a/b", "one database name")]
    [InlineData("postgres://app@db.example/events#x", "'#'")]
    [InlineData("postgres://app@db.example/events?bogus=1", "'bogus' is neither a libpq parameter")]
    [InlineData("postgres://app@db.example/events?sslmode=sometimes", "'sslmode' must be one of disable, allow, prefer, require, verify-ca, verify-full, but is 'sometimes'")]
    [InlineData("postgres://app@db.example/events?keepalives=yes", "'keepalives' must be one of 1, 0")]
    [InlineData("postgres://app@db.example/events?connect_timeout=soon", "does not accept the value 'soon' of 'connect_timeout'")]
    [InlineData("postgres://app@db.example/events?sslmode", "not name=value")]
    [InlineData("postgres://app@db.example/events?host=other", "already set")]
    [InlineData("postgres://app@db.example/events?dbname=other", "already set")]
    [InlineData("postgres://app%G1@db.example/events", "not followed by two hex digits")]
    [InlineData("postgres://app@db.example/events?application_name=me@home", "'@' after the host")]
    [InlineData("Host=db.example;Bogus=1", "'bogus' is not an Npgsql connection string keyword")]
    [InlineData("Host=db.example;Port=abc", "does not accept the value 'abc' of 'port'")]
    [InlineData("Host=db.example;SSL Mode=sometimes", "does not accept the value 'sometimes' of 'ssl mode'")]
    [InlineData("Host=db.example;Server=other", "already set")]
    [InlineData("Username=app;Database=events", "no Host")]
    [InlineData("db.example:5432/events", "does not read as Key=Value pairs")]
    public void ToConnectionString_BadInput_ThrowsSayingWhatIsWrong(string value, string reason)
    {
        var error = ConvertFails(value);

        error.Should().BeOfType<ArgumentException>();
        error.Message.Should().Contain(reason);
        error.InnerException.Should().BeNull("Npgsql's own errors may quote a password, so they are never attached");
    }

    [Fact]
    public void ToConnectionString_Null_ThrowsArgumentNull()
    {
        var convert = () => DatabaseUrl.ToConnectionString(null!);

        convert.Should().Throw<ArgumentNullException>();
    }

    [Theory]
    [MemberData(nameof(BadInputsWithAPassword))]
    public void ToConnectionString_BadInputWithAPassword_NeverShowsThePassword(string value)
    {
        var error = ConvertFails(value);

        error.Message.Should().NotContain(Secret);
        error.ToString().Should().NotContain(Secret);
    }

    [Theory]
    [InlineData("postgres://app:s3cr3t-P%40ss@db.example:5432/events", "postgres://app:***@db.example:5432/events")]
    [InlineData("postgresql://app:s3cr3t-P@ss@[::1]/events", "postgresql://app:***@[::1]/events")]
    [InlineData("postgres://app@db.example/events?sslmode=require&password=s3cr3t-P%40ss", "postgres://app@db.example/events?sslmode=require&password=***")]
    [InlineData("postgres://app@db.example/events", "postgres://app@db.example/events")]
    [InlineData("Host=db.example;Username=app;Password=s3cr3t-P@ss;Database=events", "Host=db.example;Username=app;Password=***;Database=events")]
    [InlineData("Host=db.example;PWD=s3cr3t-P@ss;SSL Password=s3cr3t-key", "Host=db.example;Password=***;SSL Password=***")]
    [InlineData("Host=db.example;Password=s3cr3t-P@ss;Bogus=1", "Host=db.example;Password=***;Bogus=1")]
    [InlineData("Host=db.example;Username=app", "Host=db.example;Username=app")]
    [InlineData("Host=db.example;s3cr3t-P@ss", "(unreadable connection string)")]
    [InlineData("", "")]
    public void Redact_ConnectionStringOrUrl_ReplacesEveryPasswordWithStars(string value, string expected)
    {
        DatabaseUrl.Redact(value).Should().Be(expected);
    }

    [Theory]
    [MemberData(nameof(BadInputsWithAPassword))]
    public void Redact_BadInputWithAPassword_NeverShowsThePassword(string value)
    {
        DatabaseUrl.Redact(value).Should().NotContain(Secret);
    }

    [Fact]
    public void Redact_ConvertedUrl_HidesThePasswordOfTheResult()
    {
        var connectionString = DatabaseUrl.ToConnectionString("postgres://app:s3cr3t-P%40ss@db.example/events");

        DatabaseUrl.Redact(connectionString).Should().Be("Host=db.example;Port=5432;Username=app;Password=***;Database=events");
    }

    // A value holding both quote characters is written back quoted, its inner quotes doubled: the password then
    // no longer stands in the text as it was read, and must still not be shown.
    [Theory]
    [InlineData("Host=db.example;Username=app;Password=\"p'w\"\"d\";Database=events", "p'w")]
    [InlineData("Host=db.example;Username=app;Password='a;b''c\"d';Database=events", "b'")]
    [InlineData("Host=db.example;Username=app;Password='a;b''c\"d';Nonsense=1", "b'")]
    [InlineData("Host=db.example;SSL Password=\"k'e\"\"y\"", "k'e")]
    public void Redact_PasswordWithBothQuotes_IsMaskedInEveryWritingOfIt(string connectionString, string part)
    {
        var redacted = DatabaseUrl.Redact(connectionString);

        redacted.Should().NotContain(part).And.Contain("***").And.Contain("db.example");
    }
}
