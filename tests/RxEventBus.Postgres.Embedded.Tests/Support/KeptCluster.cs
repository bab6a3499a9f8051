using RxEventBus.Postgres.Embedded.Internal;

namespace RxEventBus.Postgres.Embedded.Tests.Support;

/// <summary>Removes a cluster kept with <see cref="EmbeddedPostgresOptions.Keep"/> the way its docs tell a person to.</summary>
internal static class KeptCluster
{
    public static async Task RemoveAsync(EmbeddedPostgres server)
    {
        string pgCtl = Path.Combine(server.BinDirectory, "pg_ctl");
        string[] stop = ["-D", server.DataDirectory, "-m", "fast", "-w", "stop"];
        var result = server.ServerUser is { } user
            ? await ProcessRunner.RunAsync("runuser", ["-u", user, "--", pgCtl, .. stop], server.RootDirectory, TimeSpan.FromSeconds(60), CancellationToken.None)
            : await ProcessRunner.RunAsync(pgCtl, stop, server.RootDirectory, TimeSpan.FromSeconds(60), CancellationToken.None);
        result.ExitCode.Should().Be(0, "the documented manual stop must work: {0}", result.Diagnostics);
        Directory.Delete(server.RootDirectory, recursive: true);
    }
}
