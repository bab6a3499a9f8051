using System.Reflection;
using System.Text;
using PublicApiGenerator;
using RxEventBus.Packaging.Tests.Support;

namespace RxEventBus.Packaging.Tests;

/// <summary>
/// The public API of every packable assembly, as PublicApiGenerator prints it, against the approved snapshot in
/// PublicApi/{assembly}.approved.txt: a change to the public surface fails here until it is accepted on purpose,
/// so it is seen in review. Accept with <c>RXEB_ACCEPT_API=1 dotnet test tests/RxEventBus.Packaging.Tests
/// --filter PublicApiTests</c>, which rewrites the snapshots (docs/packages.md).
/// </summary>
public sealed class PublicApiTests
{
    /// <summary>Set to 1 to rewrite the snapshots with the current API instead of failing.</summary>
    public const string AcceptVariable = "RXEB_ACCEPT_API";

    private const string AcceptCommand = $"{AcceptVariable}=1 dotnet test tests/RxEventBus.Packaging.Tests --filter PublicApiTests";

    private static readonly string SnapshotFolder =
        Path.Combine(PackableProject.RepositoryRoot, "tests", "RxEventBus.Packaging.Tests", "PublicApi");

    private static bool Accepting => Environment.GetEnvironmentVariable(AcceptVariable) == "1";

    [Theory]
    [MemberData(nameof(Packable.All), MemberType = typeof(Packable))]
    public void PublicApi_OfEachPackableAssembly_MatchesItsApprovedSnapshot(string name)
    {
        var project = Packable.Named(name);
        // The test project references every src/ project (a glob in its .csproj), so each assembly is beside it.
        var assembly = Assembly.Load(new AssemblyName(project.AssemblyName));
        var actual = Normalize(assembly.GeneratePublicApi(new ApiGeneratorOptions { IncludeAssemblyAttributes = false }));
        var path = Path.Combine(SnapshotFolder, $"{project.AssemblyName}.approved.txt");
        var approved = File.Exists(path) ? Normalize(File.ReadAllText(path)) : null;

        if (approved == actual)
        {
            return;
        }

        if (Accepting)
        {
            Directory.CreateDirectory(SnapshotFolder);
            File.WriteAllText(path, actual);
            return;
        }

        var relative = Path.GetRelativePath(PackableProject.RepositoryRoot, path);
        Assert.Fail(approved is null
            ? $"{project.AssemblyName} has no approved public API: {relative} does not exist. If the package is new, " +
              $"create it with\n  {AcceptCommand}\nand commit it.\nIts API now:\n{actual}"
            : $"The public API of {project.AssemblyName} is not the approved one in {relative}.\n" +
              $"Lines with - are approved but gone, lines with + are new:\n{LineDiff.Describe(approved, actual)}\n" +
              $"If the change is intended, accept it with\n  {AcceptCommand}\nand commit the snapshot with the change.");
    }

    [Fact]
    public void Snapshots_EachBelongsToAPackableAssembly()
    {
        var expected = PackableProject.All.Select(p => $"{p.AssemblyName}.approved.txt").ToHashSet();
        var stale = Directory.GetFiles(SnapshotFolder, "*.approved.txt")
            .Where(f => !expected.Contains(Path.GetFileName(f)))
            .ToList();
        if (Accepting)
        {
            stale.ForEach(File.Delete);
            return;
        }

        stale.Select(Path.GetFileName).Should().BeEmpty(
            $"a snapshot without a project under src/ is left from a removed or renamed package; delete it, or run {AcceptCommand}");
    }

    private static string Normalize(string api) => api.ReplaceLineEndings("\n").TrimEnd() + "\n";
}

/// <summary>A line diff small enough for a failure message: the changed lines, with their line numbers.</summary>
internal static class LineDiff
{
    public static string Describe(string before, string after)
    {
        var a = before.Split('\n');
        var b = after.Split('\n');

        // Longest common subsequence by dynamic programming; the API texts are a few thousand lines at most.
        var lcs = new int[a.Length + 1, b.Length + 1];
        for (var i = a.Length - 1; i >= 0; i--)
        {
            for (var j = b.Length - 1; j >= 0; j--)
            {
                lcs[i, j] = a[i] == b[j] ? lcs[i + 1, j + 1] + 1 : Math.Max(lcs[i + 1, j], lcs[i, j + 1]);
            }
        }

        var diff = new StringBuilder();
        int x = 0, y = 0;
        while (x < a.Length || y < b.Length)
        {
            if (x < a.Length && y < b.Length && a[x] == b[y])
            {
                x++;
                y++;
            }
            else if (y < b.Length && (x == a.Length || lcs[x, y + 1] >= lcs[x + 1, y]))
            {
                diff.Append("  + (line ").Append(y + 1).Append(") ").AppendLine(b[y++]);
            }
            else
            {
                diff.Append("  - (line ").Append(x + 1).Append(") ").AppendLine(a[x++]);
            }
        }

        return diff.ToString();
    }
}
