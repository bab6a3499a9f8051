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

    // Defence in depth behind the page's escaping (it sets every value as text): the browser runs only the dashboard's
    // own script and styles, talks only to the dashboard, and no other site may frame the page (and with it the
    // Replay and Purge buttons).
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

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
        context.Response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
        context.Response.Headers.CacheControl = "no-cache";
        return Results.Stream(stream, ContentTypeOf(file));
    }
}
