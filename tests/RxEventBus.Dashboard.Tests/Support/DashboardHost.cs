using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace RxEventBus.Dashboard.Tests.Support;

/// <summary>A real ASP.NET Core app on an in-memory server, with the dashboard mapped at /rxeventbus.</summary>
internal sealed class DashboardHost : IAsyncDisposable
{
    public const string Prefix = "/rxeventbus";

    private DashboardHost(WebApplication app)
    {
        App = app;
        Client = app.GetTestClient();
    }

    public WebApplication App { get; }

    public HttpClient Client { get; }

    public static async Task<DashboardHost> StartAsync(
        Action<IServiceCollection> services,
        Action<DashboardOptions>? configure = null,
        Action<WebApplicationBuilder>? build = null,
        Action<WebApplication, RouteGroupBuilderHolder>? afterMap = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        services(builder.Services);
        build?.Invoke(builder);
        var app = builder.Build();
        var group = app.MapRxEventBusDashboard(Prefix, configure);
        afterMap?.Invoke(app, new RouteGroupBuilderHolder(group));
        await app.StartAsync();
        return new DashboardHost(app);
    }

    public async Task<JsonElement> GetJsonAsync(string path, System.Net.HttpStatusCode expected = System.Net.HttpStatusCode.OK)
    {
        using var response = await Client.GetAsync(Prefix + path);
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(expected, $"GET {path} answered {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    public async Task<HttpResponseMessage> PostActionAsync(string path, bool header = true, string? origin = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Prefix + path);
        if (header)
        {
            request.Headers.Add("X-RxEventBus-Action", "1");
        }

        if (origin is not null)
        {
            request.Headers.Add("Origin", origin);
        }

        return await Client.SendAsync(request);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}

/// <summary>The group MapRxEventBusDashboard returned, for a test to add conventions to before the app starts.</summary>
internal sealed record RouteGroupBuilderHolder(RouteGroupBuilder Group);

internal static class Json
{
    public static string Str(this JsonElement element, string name) => element.GetProperty(name).GetString()!;

    public static JsonElement Problem(this JsonElement element, string titleContains)
    {
        element.GetProperty("title").GetString().Should().Contain(titleContains);
        return element;
    }

    public static Task<JsonElement> ReadJsonAsync(this HttpResponseMessage response) =>
        response.Content.ReadFromJsonAsync<JsonElement>();
}
