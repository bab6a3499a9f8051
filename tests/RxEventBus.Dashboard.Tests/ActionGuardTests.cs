using System.Net;
using Microsoft.Extensions.DependencyInjection;
using RxEventBus.Dashboard.Tests.Support;

namespace RxEventBus.Dashboard.Tests;

// The actions' guards, before any store is touched: off by default, and with actions on, a request must carry the
// custom header and come from the dashboard's own origin (docs/dashboard.md, "Securing it").
public sealed class ActionGuardTests
{
    private const string Replay = "/api/dead-letters/8d5e5a0e-0000-0000-0000-000000000001/replay";
    private const string Purge = "/api/dead-letters/8d5e5a0e-0000-0000-0000-000000000001/purge";

    [Theory]
    [InlineData(Replay)]
    [InlineData(Purge)]
    public async Task Action_ActionsOff_Is403SayingSo(string path)
    {
        using var bus = new EventBus();
        await using var host = await DashboardHost.StartAsync(s => s.AddSingleton(bus));

        using var response = await host.PostActionAsync(path);

        response.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await response.ReadJsonAsync()).Problem("Actions are off");
    }

    [Theory]
    [InlineData(Replay)]
    [InlineData(Purge)]
    public async Task Action_WithoutTheHeader_Is400(string path)
    {
        using var bus = new EventBus();
        await using var host = await DashboardHost.StartAsync(s => s.AddSingleton(bus), o => o.EnableActions = true);

        using var response = await host.PostActionAsync(path, header: false);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await response.ReadJsonAsync()).GetProperty("detail").GetString().Should().Contain("X-RxEventBus-Action");
    }

    [Theory]
    [InlineData("https://evil.example")]
    [InlineData("http://localhost:8080")]
    [InlineData("https://localhost")]
    [InlineData("null")]
    public async Task Action_FromAForeignOrigin_Is403(string origin)
    {
        using var bus = new EventBus();
        await using var host = await DashboardHost.StartAsync(s => s.AddSingleton(bus), o => o.EnableActions = true);

        using var response = await host.PostActionAsync(Purge, origin: origin);

        response.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await response.ReadJsonAsync()).Problem("Cross-site request refused");
    }

    [Theory]
    [InlineData(null)]
    [InlineData("http://localhost")]
    public async Task Action_SameOriginOrNoOrigin_PassesTheGuard(string? origin)
    {
        using var bus = new EventBus();
        await using var host = await DashboardHost.StartAsync(s => s.AddSingleton(bus), o => o.EnableActions = true);

        using var response = await host.PostActionAsync(Purge, origin: origin);

        // Past the guard, this app has no dead-letter store: the next answer says so.
        response.StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await response.ReadJsonAsync()).Problem("No dead-letter store is configured");
    }

    [Fact]
    public async Task Action_Get_IsNotAnAction()
    {
        using var bus = new EventBus();
        await using var host = await DashboardHost.StartAsync(s => s.AddSingleton(bus), o => o.EnableActions = true);

        using var response = await host.Client.GetAsync(DashboardHost.Prefix + Purge);

        response.StatusCode.Should().Be(HttpStatusCode.MethodNotAllowed);
    }
}
