using System.IO.Compression;
using System.Xml.Linq;

namespace RxEventBus.Packaging.Tests.Support;

/// <summary>A .nupkg or .snupkg opened for reading: its file list, its nuspec, and any entry's text.</summary>
public sealed class PackageFile : IDisposable
{
    private readonly ZipArchive _zip;

    public PackageFile(string path)
    {
        File.Exists(path).Should().BeTrue($"dotnet pack should have written {Path.GetFileName(path)}");
        _zip = ZipFile.OpenRead(path);
        Entries = _zip.Entries.Select(e => e.FullName).ToList();
        var nuspec = _zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal) && !e.FullName.Contains('/'));
        using var stream = nuspec.Open();
        Nuspec = XDocument.Load(stream);
    }

    public IReadOnlyList<string> Entries { get; }

    public XDocument Nuspec { get; }

    /// <summary>A metadata element of the nuspec (namespace-agnostic: NuGet writes a versioned one).</summary>
    public XElement? Metadata(string name) =>
        Nuspec.Root!.Elements().Single(e => e.Name.LocalName == "metadata").Elements().SingleOrDefault(e => e.Name.LocalName == name);

    public string? MetadataValue(string name) => Metadata(name)?.Value.Trim();

    public IReadOnlyList<XElement> Descendants(string localName) =>
        Nuspec.Descendants().Where(e => e.Name.LocalName == localName).ToList();

    public string ReadText(string entry)
    {
        using var reader = new StreamReader(_zip.GetEntry(entry)!.Open());
        return reader.ReadToEnd();
    }

    public void Dispose() => _zip.Dispose();
}
