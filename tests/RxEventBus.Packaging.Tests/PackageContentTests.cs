using System.Text.RegularExpressions;
using RxEventBus.Packaging.Tests.Support;

namespace RxEventBus.Packaging.Tests;

/// <summary>
/// What nuget.org would show and what a restore would bring, read from the packages `dotnet pack` wrote: for
/// every project under src/, its nuspec against its .csproj and src/Directory.Build.props, its files, its
/// symbol package.
/// </summary>
[Collection(SharedPackages.Name)]
public sealed partial class PackageContentTests(PackedPackages packages)
{
    private const string RepositoryUrl = "https://github.com/rxeventbus/rxeventbus";

    [Fact]
    public void Pack_EveryProjectUnderSrc_WritesOnePackageAndOneSymbolPackageAtTheRunsVersion()
    {
        var expected = PackableProject.All
            .SelectMany(p => new[] { Path.GetFileName(packages.PackagePath(p)), Path.GetFileName(packages.SymbolPackagePath(p)) });

        Directory.GetFiles(packages.Feed).Select(Path.GetFileName).Should().BeEquivalentTo(expected,
            "every project under src/ is a package with its symbols, and nothing else is packed; {0}", packages.PackResult);
    }

    [Theory]
    [MemberData(nameof(Packable.All), MemberType = typeof(Packable))]
    public void Nuspec_Metadata_IsWhatTheProjectDeclares(string name)
    {
        var project = Packable.Named(name);
        using var package = new PackageFile(packages.PackagePath(project));

        package.MetadataValue("id").Should().Be(project.Name, "the package id is the project's name");
        package.MetadataValue("version").Should().Be(packages.Version, "every package has the one version of src/Directory.Build.props");
        project.Description.Should().NotBeNullOrWhiteSpace($"{name}.csproj should say what the package is for in <Description>");
        package.MetadataValue("description").Should().Be(project.Description);
        package.MetadataValue("authors").Should().Be("The RxEventBus authors");

        var license = package.Metadata("license");
        license.Should().NotBeNull("the package should name its license");
        ((string?)license!.Attribute("type")).Should().Be("expression");
        license.Value.Should().Be("MIT");
        package.Entries.Should().Contain("LICENSE", "the license text travels with the package");
        package.ReadText("LICENSE").Should().Be(File.ReadAllText(Path.Combine(PackableProject.RepositoryRoot, "LICENSE")));

        package.MetadataValue("projectUrl").Should().Be(RepositoryUrl);
        var repository = package.Metadata("repository");
        repository.Should().NotBeNull("SourceLink writes the repository and commit into the nuspec");
        ((string?)repository!.Attribute("type")).Should().Be("git");
        ((string?)repository.Attribute("url")).Should().Be(RepositoryUrl);
        ((string?)repository.Attribute("commit")).Should().MatchRegex("^[0-9a-f]{40}$", "the commit the package was built from");

        package.MetadataValue("tags")!.Split(' ').Should().Contain(["rxeventbus", "event-bus"],
            "every package shares the tags that find them all, and adds its own");
    }

    [Theory]
    [MemberData(nameof(Packable.All), MemberType = typeof(Packable))]
    public void Nuspec_Readme_IsTheProjectsReadmeMd(string name)
    {
        var project = Packable.Named(name);
        project.HasReadme.Should().BeTrue($"src/{name}/README.md is the package's page on nuget.org");
        using var package = new PackageFile(packages.PackagePath(project));

        package.MetadataValue("readme").Should().Be("README.md");
        package.Entries.Should().Contain("README.md");
        package.ReadText("README.md").Should().Be(File.ReadAllText(project.ReadmePath));
    }

    [Theory]
    [MemberData(nameof(Packable.Libraries), MemberType = typeof(Packable))]
    public void Nuspec_Dependencies_AreTheProjectsReferences(string name)
    {
        var project = Packable.Named(name);
        using var package = new PackageFile(packages.PackagePath(project));

        // The nuspec has a group per framework under <dependencies>, and under <frameworkReferences> when the project
        // references a shared framework (RxEventBus.Dashboard: Microsoft.AspNetCore.App).
        var groups = package.Descendants("group").Where(g => g.Parent?.Name.LocalName == "dependencies");
        groups.Select(g => (string?)g.Attribute("targetFramework")).Should().Equal(["net10.0"], "the libraries target net10.0 only");
        package.Descendants("frameworkReference").Select(f => (string)f.Attribute("name")!).Should().BeEquivalentTo(project.FrameworkReferences,
            $"an app restoring {name} must run on every shared framework it references ({name}.csproj), and on no other");
        var dependencies = package.Descendants("dependency")
            .ToDictionary(d => (string)d.Attribute("id")!, d => (string)d.Attribute("version")!);

        dependencies.Keys.Should().BeEquivalentTo(project.Dependencies,
            $"a restore of {name} must bring every package and project it references ({name}.csproj), and nothing else");
        foreach (var ours in project.Dependencies.Where(d => PackableProject.All.Any(p => p.Name == d)))
        {
            dependencies[ours].Should().Be(packages.Version, $"{name} depends on {ours} of the same build");
        }
    }

    [Theory]
    [MemberData(nameof(Packable.Libraries), MemberType = typeof(Packable))]
    public void Library_Package_CarriesItsAssemblyAndXmlDocs_AndItsSymbolsAreInTheSnupkg(string name)
    {
        var project = Packable.Named(name);
        using var package = new PackageFile(packages.PackagePath(project));
        using var symbols = new PackageFile(packages.SymbolPackagePath(project));

        package.Entries.Should().Contain([$"lib/net10.0/{name}.dll", $"lib/net10.0/{name}.xml"],
            "the assembly, and its XML docs for IntelliSense");
        package.Entries.Should().NotContain(e => e.EndsWith(".pdb", StringComparison.Ordinal), "symbols go to the .snupkg");
        symbols.Entries.Should().Contain($"lib/net10.0/{name}.pdb");
        symbols.Descendants("packageType").Select(t => (string?)t.Attribute("name")).Should().Equal("SymbolsPackage");
    }

    [Fact]
    public void ToolPackage_IsADotnetTool_WithItsCommandAndNoDependencies()
    {
        var tools = PackableProject.All.Where(p => p.IsTool).ToList();
        tools.Select(t => t.Name).Should().Equal(["RxEventBus.Cli"], "the CLI is the one .NET tool");

        foreach (var tool in tools)
        {
            using var package = new PackageFile(packages.PackagePath(tool));
            using var symbols = new PackageFile(packages.SymbolPackagePath(tool));

            package.Descendants("packageType").Select(t => (string?)t.Attribute("name")).Should().Equal("DotnetTool");
            package.Descendants("dependency").Should().BeEmpty("a tool carries its dependencies inside it");
            var settings = package.ReadText("tools/net10.0/any/DotnetToolSettings.xml");
            CommandPattern().Match(settings).Groups["name"].Value.Should().Be(tool.ToolCommandName).And.Be("rxeventbus");
            CommandPattern().Match(settings).Groups["entry"].Value.Should().Be($"{tool.Name}.dll");
            package.Entries.Should().Contain([$"tools/net10.0/any/{tool.Name}.dll", "tools/net10.0/any/RxEventBus.dll"]);
            symbols.Entries.Should().Contain($"tools/net10.0/any/{tool.Name}.pdb");
        }
    }

    [GeneratedRegex("""<Command Name="(?<name>[^"]+)" EntryPoint="(?<entry>[^"]+)" """)]
    private static partial Regex CommandPattern();
}
