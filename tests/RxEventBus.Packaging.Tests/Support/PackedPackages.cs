using System.Security;
using System.Text.Json;
using System.Xml.Linq;

namespace RxEventBus.Packaging.Tests.Support;

/// <summary>
/// Packs every project under src/ once per test run, into a folder of its own, at a version no earlier run
/// used (the prefix from src/Directory.Build.props, then a suffix that is new each run): so no cache on the
/// machine can hold a package of that version, and what the tests restore and install is this build.
/// </summary>
public sealed class PackedPackages : IAsyncLifetime
{
    private static readonly TimeSpan PackTimeout = TimeSpan.FromMinutes(10);

    public PackedPackages()
    {
        Root = Path.Combine(Path.GetTempPath(), "rxeb-pack-" + Guid.NewGuid().ToString("N")[..8]);
        Feed = Path.Combine(Root, "feed");
        PrivatePackagesFolder = Path.Combine(Root, "nuget-packages");
        VersionSuffix = "packtest." + Guid.NewGuid().ToString("N")[..12];
        Version = $"{ReadVersionPrefix()}-{VersionSuffix}";
    }

    /// <summary>Everything this run writes: the feed, the build, the private package folder, the consumer app.</summary>
    public string Root { get; }

    /// <summary>The folder the packages are packed into: the only source of RxEventBus packages for the tests.</summary>
    public string Feed { get; }

    /// <summary>
    /// The package folder the consumer's restore and the tool's install fill, so that our packages never land in
    /// the machine's global one (third-party packages are read from the machine's folder as a fallback).
    /// </summary>
    public string PrivatePackagesFolder { get; }

    public string VersionSuffix { get; }

    /// <summary>The version every package of this run has.</summary>
    public string Version { get; }

    /// <summary>The output of `dotnet pack`, for failure messages.</summary>
    public ProcessResult? PackResult { get; private set; }

    /// <summary>The machine's global package folder, where restores on this machine find third-party packages.</summary>
    public static string MachinePackagesFolder =>
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } folder
            ? folder
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    public string PackagePath(PackableProject project) => Path.Combine(Feed, $"{project.Name}.{Version}.nupkg");

    public string SymbolPackagePath(PackableProject project) => Path.Combine(Feed, $"{project.Name}.{Version}.snupkg");

    /// <summary>
    /// Makes <paramref name="folder"/> a place where a user's project restores RxEventBus packages from <see cref="Feed"/>
    /// only: no Directory.Build.* of ours, and a nuget.config that maps RxEventBus* to the feed.
    /// </summary>
    public async Task WriteUserSettingsAsync(string folder)
    {
        // Stop MSBuild's search for the repository's Directory.Build.* (they are not the user's): an app in the
        // temp folder would not find them anyway, but a checkout under /tmp could.
        await File.WriteAllTextAsync(Path.Combine(folder, "Directory.Build.props"), "<Project />");
        await File.WriteAllTextAsync(Path.Combine(folder, "Directory.Build.targets"), "<Project />");
        await File.WriteAllTextAsync(Path.Combine(folder, "Directory.Packages.props"), "<Project />");

        // The packed folder is the only source of RxEventBus and RxEventBus.*; every other package comes from the
        // machine's nuget.org source as usual, read first from the machine's global package folder (a fallback
        // folder, never written), while what this restore downloads goes to the run's private folder.
        await File.WriteAllTextAsync(Path.Combine(folder, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <config>
                <add key="globalPackagesFolder" value="{SecurityElement.Escape(PrivatePackagesFolder)}" />
              </config>
              <fallbackPackageFolders>
                <clear />
                <add key="machine" value="{SecurityElement.Escape(MachinePackagesFolder)}" />
              </fallbackPackageFolders>
              <packageSources>
                <add key="rxeventbus-under-test" value="{SecurityElement.Escape(Feed)}" />
              </packageSources>
              <packageSourceMapping>
                <packageSource key="rxeventbus-under-test">
                  <package pattern="RxEventBus" />
                  <package pattern="RxEventBus.*" />
                </packageSource>
                <packageSource key="nuget.org">
                  <package pattern="*" />
                </packageSource>
              </packageSourceMapping>
            </configuration>
            """);
    }

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Root);

        // A solution filter of the projects found under src/: one `dotnet pack`, one restore and one build graph
        // for all of them, and only them (the tests and benchmarks in the solution are not built).
        var filter = Path.Combine(Root, "packages.slnf");
        var projects = PackableProject.All
            .Select(p => Path.GetRelativePath(PackableProject.RepositoryRoot, Path.Combine(p.Directory, p.Name + ".csproj")))
            .ToArray();
        await File.WriteAllTextAsync(filter, JsonSerializer.Serialize(new
        {
            solution = new { path = Path.Combine(PackableProject.RepositoryRoot, "RxEventBus.sln"), projects },
        }));

        // Its own artifacts folder: the Release build, its obj/ and restore files stay out of src/*/bin and obj,
        // which the other test projects of a `dotnet test` run are using.
        PackResult = await ProcessRunner.RunAsync(
            "dotnet",
            ["pack", filter, "-c", "Release", "-o", Feed, "--version-suffix", VersionSuffix,
             "--artifacts-path", Path.Combine(Root, "artifacts"), "-nodeReuse:false"],
            PackableProject.RepositoryRoot,
            PackTimeout);
        if (PackResult.ExitCode != 0)
        {
            throw new InvalidOperationException($"dotnet pack failed: {PackResult}");
        }
    }

    public Task DisposeAsync()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open (a process the tests killed): the folder is under the temp path anyway.
        }
        catch (UnauthorizedAccessException)
        {
        }

        return Task.CompletedTask;
    }

    private static string ReadVersionPrefix()
    {
        var props = XDocument.Load(Path.Combine(PackableProject.RepositoryRoot, "src", "Directory.Build.props"));
        return props.Descendants("VersionPrefix").Single().Value.Trim();
    }
}

/// <summary>The tests that share one packing run.</summary>
[CollectionDefinition(Name)]
public sealed class SharedPackages : ICollectionFixture<PackedPackages>
{
    public const string Name = "Packed packages";
}
