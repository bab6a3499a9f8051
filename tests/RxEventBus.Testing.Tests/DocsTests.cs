using System.Text.RegularExpressions;

namespace RxEventBus.Testing.Tests;

// docs/testing.md shows example files whole; each is compiled and run here, so the doc stays true.
public sealed partial class DocsTests
{
    [Theory]
    [InlineData("Example/PaymentReminders.cs")]
    [InlineData("Example/PaymentRemindersTests.cs")]
    public void TestingGuide_Snippet_IsTheExampleFileAsItIs(string file)
    {
        var guide = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "docs", "testing.md"));
        var snippet = Snippet().Matches(guide).SingleOrDefault(m => m.Groups["file"].Value == file);

        snippet.Should().NotBeNull($"because docs/testing.md should show {file} after <!-- snippet: {file} -->");
        snippet!.Groups["code"].Value.Should().Be(
            File.ReadAllText(Path.Combine(AppContext.BaseDirectory, file)).ReplaceLineEndings("\n"),
            "because the guide must show the example exactly as it is tested");
    }

    [GeneratedRegex(@"<!-- snippet: (?<file>\S+) -->\n```csharp\n(?<code>.*?)```", RegexOptions.Singleline)]
    private static partial Regex Snippet();
}
