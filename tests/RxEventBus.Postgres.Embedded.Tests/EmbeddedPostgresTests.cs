using RxEventBus.Tests.Common;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Npgsql;
using RxEventBus.Postgres.Embedded.Tests.Support;

namespace RxEventBus.Postgres.Embedded.Tests;

public sealed class EmbeddedPostgresTests
{
    [Fact]
    public async Task StartAsync_DefaultOptions_AnswersQueriesOverLoopbackTcp()
    {
        await using var server = await EmbeddedPostgres.StartAsync();

        (await Sql.ScalarAsync<int>(server.ConnectionString, "select 1")).Should().Be(1);
        server.ConnectionString.Should().Be($"Host=127.0.0.1;Port={server.Port};Username=postgres;Database=postgres");
        server.IsRunning.Should().BeTrue();
        server.RootDirectory.Should().StartWith("/tmp/rxeb-", "the default folder is short enough for a unix socket path");
        server.DataDirectory.Should().StartWith(server.RootDirectory);
        File.Exists(Path.Combine(server.BinDirectory, "initdb")).Should().BeTrue();
        File.Exists(server.LogPath).Should().BeTrue();
        server.ReadLogTail().Should().Contain("ready to accept connections");
    }

    [Fact]
    public async Task StartAsync_DefaultOptions_ListensOnUnixSocketInItsFolder()
    {
        await using var server = await EmbeddedPostgres.StartAsync();

        File.Exists(Path.Combine(server.SocketDirectory, $".s.PGSQL.{server.Port}")).Should().BeTrue();
        var overSocket = new NpgsqlConnectionStringBuilder(server.ConnectionString) { Host = server.SocketDirectory }.ConnectionString;
        (await Sql.ScalarAsync<string>(overSocket, "select coalesce(inet_server_addr()::text, 'socket')"))
            .Should().Be("socket", "a unix-socket session has no server address");
    }

    [Fact]
    public async Task StartAsync_DefaultOptions_SkipsFsyncButKeepsSynchronousCommit()
    {
        await using var server = await EmbeddedPostgres.StartAsync();

        (await Sql.ScalarAsync<string>(server.ConnectionString, "show fsync")).Should().Be("off", "a throwaway cluster need not survive a machine crash");
        (await Sql.ScalarAsync<string>(server.ConnectionString, "show synchronous_commit"))
            .Should().Be("on", "a commit that returned must survive a server crash, or persistence tests prove nothing");
    }

    [Fact]
    public async Task StartAsync_ServerSettings_AreAppliedOverTheDefaults()
    {
        var options = new EmbeddedPostgresOptions { ServerSettings = new Dictionary<string, string> { ["max_connections"] = "42" } };

        await using var server = await EmbeddedPostgres.StartAsync(options);

        (await Sql.ScalarAsync<string>(server.ConnectionString, "show max_connections")).Should().Be("42");
    }

    [Fact]
    public async Task StopAsync_ImmediateThenStartAsync_CommittedRowsSurviveOnTheSamePort()
    {
        await using var server = await EmbeddedPostgres.StartAsync();
        var port = server.Port;
        await Sql.ExecuteAsync(server.ConnectionString, "create table survivors (id int primary key); insert into survivors values (1), (2), (3)");

        await server.StopAsync(immediate: true);

        server.IsRunning.Should().BeFalse();
        await FluentActions.Awaiting(() => Sql.ScalarAsync<int>(server.ConnectionString, "select 1"))
            .Should().ThrowAsync<NpgsqlException>("the server is down");

        await server.StartAsync();

        server.Port.Should().Be(port);
        (await Sql.ScalarAsync<long>(server.ConnectionString, "select count(*) from survivors"))
            .Should().Be(3, "committed rows are in the WAL, which crash recovery replays");
        server.ReadLogTail().Should().Contain("database system was not properly shut down");
    }

    [Fact]
    public async Task RestartAsync_Fast_KeepsDataAndPort()
    {
        await using var server = await EmbeddedPostgres.StartAsync();
        var port = server.Port;
        await Sql.ExecuteAsync(server.ConnectionString, "create table kept (id int)");

        await server.RestartAsync();

        server.Port.Should().Be(port);
        (await Sql.ScalarAsync<long>(server.ConnectionString, "select count(*) from kept")).Should().Be(0);
    }

    [Fact]
    public async Task StopAsync_Twice_SecondDoesNothing()
    {
        await using var server = await EmbeddedPostgres.StartAsync();

        await server.StopAsync();
        await server.StopAsync();

        server.IsRunning.Should().BeFalse();
    }

    [Fact]
    public async Task DisposeAsync_Default_StopsServerAndRemovesFolder()
    {
        var server = await EmbeddedPostgres.StartAsync();
        var connectionString = server.ConnectionString;

        await server.DisposeAsync();

        Directory.Exists(server.RootDirectory).Should().BeFalse();
        await FluentActions.Awaiting(() => Sql.ScalarAsync<int>(connectionString, "select 1"))
            .Should().ThrowAsync<NpgsqlException>("the server is stopped");
        await FluentActions.Awaiting(() => server.StartAsync()).Should().ThrowAsync<ObjectDisposedException>();
    }

    [Fact]
    public async Task DisposeAsync_AfterStop_RemovesFolder()
    {
        var server = await EmbeddedPostgres.StartAsync();
        await server.StopAsync(immediate: true);

        await server.DisposeAsync();

        Directory.Exists(server.RootDirectory).Should().BeFalse();
    }

    [Fact]
    public async Task DisposeAsync_ServerKilledFromOutside_StillRemovesFolder()
    {
        var server = await EmbeddedPostgres.StartAsync();
        using (var postmaster = System.Diagnostics.Process.GetProcessById(PostmasterPid(server)))
        {
            postmaster.Kill(entireProcessTree: true);
            await postmaster.WaitForExitAsync();
        }

        await server.DisposeAsync();

        Directory.Exists(server.RootDirectory).Should().BeFalse("a server that died on its own leaves nothing to stop");
    }

    [Fact]
    public async Task DisposeAsync_Keep_LeavesServerRunningAndFolderInPlace()
    {
        var server = await EmbeddedPostgres.StartAsync(new EmbeddedPostgresOptions { Keep = true });
        try
        {
            await server.DisposeAsync();

            Directory.Exists(server.DataDirectory).Should().BeTrue();
            (await Sql.ScalarAsync<int>(server.ConnectionString, "select 1")).Should().Be(1, "a kept cluster stays usable after the program ends");
        }
        finally
        {
            await KeptCluster.RemoveAsync(server);
        }
    }

    [Fact]
    public async Task CreateDatabaseAsync_NewName_ReturnsConnectionStringToIt()
    {
        await using var server = await EmbeddedPostgres.StartAsync();

        var connectionString = await server.CreateDatabaseAsync("rxeventbus");

        (await Sql.ScalarAsync<string>(connectionString, "select current_database()")).Should().Be("rxeventbus");
        await FluentActions.Awaiting(() => server.CreateDatabaseAsync("rxeventbus"))
            .Should().ThrowAsync<EmbeddedPostgresException>().WithMessage("*already exists*");
        server.Invoking(s => s.GetConnectionString("x;Password=y"))
            .Should().Throw<ArgumentException>("a name that needs quoting could rewrite the connection string");
    }

    [Fact]
    public async Task StartAsync_PortOutOfRange_ThrowsArgumentException()
    {
        await FluentActions.Awaiting(() => EmbeddedPostgres.StartAsync(new EmbeddedPostgresOptions { Port = 70000 }))
            .Should().ThrowAsync<ArgumentException>().WithMessage("*Port*");
    }

    [Fact]
    public async Task StartAsync_AnyUser_ServerNeverRunsAsRoot()
    {
        await using var server = await EmbeddedPostgres.StartAsync();

        if (Environment.IsPrivilegedProcess)
        {
            server.ServerUser.Should().Be("postgres");
            PostmasterUid(server).Should().NotBe(0, "PostgreSQL refuses to run as root, so the launcher switches user");
        }
        else
        {
            server.ServerUser.Should().BeNull("a non-root caller runs the server itself");
        }
    }

    [Fact]
    public async Task StartAsync_AsRootWithMissingServerUser_ThrowsSayingHowToCreateIt()
    {
        var options = new EmbeddedPostgresOptions { ServerUser = "rxeb_no_such_user" };

        if (Environment.IsPrivilegedProcess)
        {
            await FluentActions.Awaiting(() => EmbeddedPostgres.StartAsync(options))
                .Should().ThrowAsync<EmbeddedPostgresException>()
                .WithMessage("*'rxeb_no_such_user'*useradd*");
        }
        else
        {
            await using var server = await EmbeddedPostgres.StartAsync(options);
            server.ServerUser.Should().BeNull("the server user is only used when running as root");
        }
    }

    [Fact]
    public async Task StartAsync_BinDirectoryWithoutPrograms_ThrowsWithInstallInstructions()
    {
        var empty = Directory.CreateTempSubdirectory("rxeb-nobin-");
        try
        {
            var act = () => EmbeddedPostgres.StartAsync(new EmbeddedPostgresOptions { BinDirectory = empty.FullName });

            (await act.Should().ThrowAsync<EmbeddedPostgresException>())
                .WithMessage($"*{empty.FullName}*")
                .WithMessage("*apt-get install postgresql*")
                .WithMessage("*RXEB_PG_BIN*");
        }
        finally
        {
            empty.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task StartAsync_PortAlreadyTaken_ThrowsWithLogTailAndRemovesFolder()
    {
        using var squatter = new TcpListener(IPAddress.Loopback, 0);
        squatter.Start();
        var parent = ShortTempParent();
        try
        {
            var options = new EmbeddedPostgresOptions { Port = ((IPEndPoint)squatter.LocalEndpoint).Port, TempDirectory = parent };

            (await FluentActions.Awaiting(() => EmbeddedPostgres.StartAsync(options)).Should().ThrowAsync<EmbeddedPostgresException>())
                .WithMessage("*pg_ctl start failed*")
                .WithMessage("*tail of*pg.log*could not bind*");
            Directory.EnumerateFileSystemEntries(parent).Should().BeEmpty("a cluster that failed to start is removed");
        }
        finally
        {
            squatter.Stop();
            Directory.Delete(parent, recursive: true);
        }
    }

    [Fact]
    public async Task StartAsync_TempDirectoryTooLongForSocketPath_ThrowsBeforeMakingAnything()
    {
        var options = new EmbeddedPostgresOptions { TempDirectory = "/tmp/" + new string('x', 100) };

        await FluentActions.Awaiting(() => EmbeddedPostgres.StartAsync(options))
            .Should().ThrowAsync<ArgumentException>().WithMessage("*unix socket*");
    }

    [Fact]
    public async Task StartAsync_TwoAtOnce_GetTheirOwnPortsAndFolders()
    {
        var firstStart = EmbeddedPostgres.StartAsync();
        var secondStart = EmbeddedPostgres.StartAsync();
        await using var first = await firstStart;
        await using var second = await secondStart;

        first.Port.Should().NotBe(second.Port);
        first.RootDirectory.Should().NotBe(second.RootDirectory);
        await Sql.ExecuteAsync(first.ConnectionString, "create table only_in_first (id int)");
        (await Sql.ScalarAsync<long>(second.ConnectionString, "select count(*) from pg_tables where tablename = 'only_in_first'")).Should().Be(0);
    }

    // Made by this test process, world-traversable (umask 022), so the server's OS user can reach its cluster.
    private static string ShortTempParent()
    {
        var path = Path.Combine("/tmp", "rxebt-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(path);
        return path;
    }

    private static int PostmasterPid(EmbeddedPostgres server) =>
        int.Parse(File.ReadLines(Path.Combine(server.DataDirectory, "postmaster.pid")).First(), CultureInfo.InvariantCulture);

    // The real uid of the postmaster, from /proc (Linux).
    private static int PostmasterUid(EmbeddedPostgres server)
    {
        var pid = PostmasterPid(server);
        var uidLine = File.ReadLines($"/proc/{pid}/status").First(static l => l.StartsWith("Uid:", StringComparison.Ordinal));
        return int.Parse(uidLine.Split('\t', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
    }
}
