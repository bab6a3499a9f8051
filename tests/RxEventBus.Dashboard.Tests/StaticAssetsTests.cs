using System.Net;
using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using RxEventBus.Dashboard.Tests.Support;

namespace RxEventBus.Dashboard.Tests;

// The page's files are embedded from src/RxEventBus.Dashboard/wwwroot: whatever is there is served, by name only.
public sealed class StaticAssetsTests : IAsyncLifetime
{
    private const string ResourcePrefix = "RxEventBus.Dashboard.wwwroot.";
    private static readonly Assembly Dashboard = typeof(DashboardOptions).Assembly;
    private readonly EventBus _bus = new();
    private DashboardHost _host = null!;

    public async Task InitializeAsync() => _host = await DashboardHost.StartAsync(s => s.AddSingleton(_bus));

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        _bus.Dispose();
    }

    private static List<string> EmbeddedFiles() => Dashboard.GetManifestResourceNames()
        .Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal))
        .Select(n => n[ResourcePrefix.Length..])
        .ToList();

    private static string ExpectedType(string file) => Path.GetExtension(file) switch
    {
        ".html" => "text/html",
        ".js" => "text/javascript",
        ".css" => "text/css",
        ".svg" => "image/svg+xml",
        ".png" => "image/png",
        ".ico" => "image/x-icon",
        ".json" => "application/json",
        _ => "application/octet-stream",
    };

    [Fact]
    public async Task Assets_EveryEmbeddedFile_IsServedByteForByteWithItsContentType()
    {
        foreach (var file in EmbeddedFiles())
        {
            using var response = await _host.Client.GetAsync($"{DashboardHost.Prefix}/assets/{file}");

            response.StatusCode.Should().Be(HttpStatusCode.OK, file);
            response.Content.Headers.ContentType!.MediaType.Should().Be(ExpectedType(file), file);
            response.Headers.GetValues("X-Content-Type-Options").Should().Equal("nosniff");
            response.Headers.GetValues("Content-Security-Policy").Single().Should()
                .Contain("script-src 'self'").And.Contain("frame-ancestors 'none'").And.Contain("object-src 'none'",
                    "only the dashboard's own script runs, and no other site frames the page");
            using var embedded = Dashboard.GetManifestResourceStream(ResourcePrefix + file)!;
            using var copy = new MemoryStream();
            await embedded.CopyToAsync(copy);
            (await response.Content.ReadAsByteArrayAsync()).Should().Equal(copy.ToArray(), file);
        }
    }

    [Fact]
    public async Task Root_ServesIndexHtml_UnderTheContentSecurityPolicy()
    {
        using var response = await _host.Client.GetAsync($"{DashboardHost.Prefix}/");

        EmbeddedFiles().Should().Contain(["index.html", "app.js", "app.css"], "the page and its files are embedded");
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.Should().Be("text/html");
        response.Content.Headers.ContentType.CharSet.Should().Be("utf-8");
        response.Headers.GetValues("Content-Security-Policy").Single().Should().Be(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
            "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
        (await response.Content.ReadAsStringAsync()).Should().Contain("<script src=\"assets/app.js\"></script>",
            "the page's one script is a file of its own, which the policy allows; an inline one it would block");
    }

    [Fact]
    public async Task Prefix_WithoutTheSlash_RedirectsUnderIt_SoRelativeAssetsResolve()
    {
        using var response = await _host.Client.GetAsync(DashboardHost.Prefix);

        response.StatusCode.Should().Be(HttpStatusCode.Redirect);
        response.Headers.Location!.OriginalString.Should().Be(DashboardHost.Prefix + "/");
    }

    [Theory]
    [InlineData("nothing-here.js")]
    [InlineData("..%2FRxEventBus.Dashboard.csproj")]
    [InlineData("..%2F..%2FRxEventBus.Dashboard.dll")]
    [InlineData("%2E%2E%2Fappsettings.json")]
    [InlineData("RxEventBus.Dashboard.wwwroot.index.html")]
    public async Task Assets_UnknownNameOrPathOutside_Is404(string file)
    {
        using var response = await _host.Client.GetAsync($"{DashboardHost.Prefix}/assets/{file}");

        response.StatusCode.Should().Be(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Assets_DotDotSegment_NeverReachesAFileOutsideTheManifest()
    {
        // HttpClient would normalize "assets/../x"; send the raw path so the server sees the dot segments.
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri($"http://localhost{DashboardHost.Prefix}/assets/../../RxEventBus.Dashboard.dll", UriKind.Absolute));
        using var response = await _host.Client.SendAsync(request);

        response.StatusCode.Should().Be(HttpStatusCode.NotFound);
    }
}
