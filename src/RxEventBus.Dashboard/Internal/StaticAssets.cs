using System.Reflection;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.StaticFiles;

namespace RxEventBus.Dashboard.Internal;

/// <summary>
/// The page's files, embedded from wwwroot/ (the .csproj names each resource <c>RxEventBus.Dashboard.wwwroot.{file}</c>).
/// A request names a file; only a name in the assembly's manifest is served, so no path can reach anything else.
/// </summary>
internal static class StaticAssets
{
    public const string ResourcePrefix = "RxEventBus.Dashboard.wwwroot.";

    private static readonly Assembly Assembly = typeof(StaticAssets).Assembly;
    private static readonly FileExtensionContentTypeProvider ContentTypes = new();

    /// <summary>File name → manifest resource name.</summary>
    public static IReadOnlyDictionary<string, string> Files { get; } = Assembly.GetManifestResourceNames()
        .Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal))
        .ToDictionary(n => n[ResourcePrefix.Length..], n => n, StringComparer.Ordinal);

    public static string ContentTypeOf(string file)
    {
        var type = ContentTypes.TryGetContentType(file, out var known) ? known : "application/octet-stream";
        return type.StartsWith("text/", StringComparison.Ordinal) || type is "application/json" or "image/svg+xml"
            ? type + "; charset=utf-8"
            : type;
    }

    public static IResult Serve(HttpContext context, string file)
    {
        if (!Files.TryGetValue(file, out var resource) || Assembly.GetManifestResourceStream(resource) is not { } stream)
        {
            return Problems.NotFound("No such file", $"The dashboard has no file '{file}'.");
        }

        context.Response.Headers.XContentTypeOptions = "nosniff";
        context.Response.Headers.CacheControl = "no-cache";
        return Results.Stream(stream, ContentTypeOf(file));
    }
}
