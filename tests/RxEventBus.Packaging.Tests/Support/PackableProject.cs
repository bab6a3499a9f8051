using System.Xml.Linq;

namespace RxEventBus.Packaging.Tests.Support;

/// <summary>
/// A project under src/ as its .csproj declares it: what its package must be called, say and depend on. Read
/// from the files, so that a package added on another branch is checked the day it is merged, without a list
/// here to keep up to date.
/// </summary>
public sealed record PackableProject(
    string Name,
    string Directory,
    string Description,
    bool IsTool,
    string? ToolCommandName,
    string AssemblyName,
    IReadOnlyList<string> Dependencies,
    IReadOnlyList<string> FrameworkReferences,
    bool HasReadme)
{
    /// <summary>The repository's root: the folder above the test's output that holds RxEventBus.sln.</summary>
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    /// <summary>Every src/*/*.csproj that does not opt out with IsPackable false.</summary>
    public static IReadOnlyList<PackableProject> All { get; } = Discover();

    /// <summary>The library packages: every packable project but the tool.</summary>
    public static IEnumerable<PackableProject> Libraries => All.Where(p => !p.IsTool);

    public string ReadmePath => Path.Combine(Directory, "README.md");

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "RxEventBus.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No RxEventBus.sln above {AppContext.BaseDirectory}.");
    }

    private static List<PackableProject> Discover()
    {
        var projects = System.IO.Directory.GetDirectories(Path.Combine(RepositoryRoot, "src"))
            .SelectMany(dir => System.IO.Directory.GetFiles(dir, "*.csproj"))
            .Order(StringComparer.Ordinal)
            .Select(Read)
            .OfType<PackableProject>()
            .ToList();
        if (projects.Count == 0)
        {
            throw new InvalidOperationException($"No project found under {Path.Combine(RepositoryRoot, "src")}.");
        }

        return projects;
    }

    private static PackableProject? Read(string csproj)
    {
        var xml = XDocument.Load(csproj);
        string? Property(string name) => xml.Descendants(name).Select(e => e.Value.Trim()).LastOrDefault();

        if (string.Equals(Property("IsPackable"), "false", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var isTool = string.Equals(Property("PackAsTool"), "true", StringComparison.OrdinalIgnoreCase);

        // What a user's restore must bring along: the package references and the other projects (which are
        // packages of their own). A reference with PrivateAssets="all" is build-only and stays out of the
        // nuspec; a tool carries its dependencies inside its package and declares none.
        static bool Flows(XElement reference) =>
            !string.Equals((string?)reference.Attribute("PrivateAssets") ?? reference.Element("PrivateAssets")?.Value,
                "all", StringComparison.OrdinalIgnoreCase);
        var dependencies = isTool
            ? []
            : xml.Descendants("PackageReference").Where(Flows).Select(r => (string)r.Attribute("Include")!)
                .Concat(xml.Descendants("ProjectReference").Where(Flows)
                    .Select(r => Path.GetFileNameWithoutExtension(((string)r.Attribute("Include")!).Replace('\\', '/'))))
                .Order(StringComparer.OrdinalIgnoreCase)
                .ToList();

        var directory = Path.GetDirectoryName(csproj)!;
        return new PackableProject(
            Name: Path.GetFileNameWithoutExtension(csproj),
            Directory: directory,
            Description: Property("Description") ?? "",
            IsTool: isTool,
            ToolCommandName: Property("ToolCommandName"),
            AssemblyName: Property("AssemblyName") ?? Path.GetFileNameWithoutExtension(csproj),
            Dependencies: dependencies,
            FrameworkReferences: xml.Descendants("FrameworkReference").Select(r => (string)r.Attribute("Include")!).ToList(),
            HasReadme: File.Exists(Path.Combine(directory, "README.md")));
    }

    public override string ToString() => Name;
}

/// <summary>Theory data: the packable projects by name (names keep each case separate in the test results).</summary>
public static class Packable
{
    public static TheoryData<string> All => new(PackableProject.All.Select(p => p.Name));

    public static TheoryData<string> Libraries => new(PackableProject.Libraries.Select(p => p.Name));

    public static PackableProject Named(string name) => PackableProject.All.Single(p => p.Name == name);
}
