using System.Net;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RxEventBus.Dashboard.Tests.Support;

namespace RxEventBus.Dashboard.Tests;

// The dashboard is exactly as exposed as the group's authorization makes it: a policy on the group MapRxEventBusDashboard
// returns covers every route, the page's files and the streams included.
public sealed class AuthorizationTests : IAsyncLifetime
{
    private const string Policy = "ops";
    private const string LetIn = "X-Test-Let-In";
    private readonly EventBus _bus = new(new EventBusOptions { Topics = ["orders"] });
    private DashboardHost _host = null!;

    public static TheoryData<string, string> Routes => new()
    {
        { "GET", "/" },
        { "GET", "/assets/app.js" },
        { "GET", "/api/overview" },
        { "GET", "/api/topics" },
        { "GET", "/api/topics/orders" },
        { "GET", "/api/topics/orders/events" },
        { "GET", "/api/topics/orders/events/8d5e5a0e-0000-0000-0000-000000000001" },
        { "GET", "/api/subscribers" },
        { "GET", "/api/stored/counts" },
        { "GET", "/api/stored/timeline" },
        { "GET", "/api/stored/events" },
        { "GET", "/api/stored/events/8d5e5a0e-0000-0000-0000-000000000001" },
        { "GET", "/api/dead-letters" },
        { "POST", "/api/dead-letters/8d5e5a0e-0000-0000-0000-000000000001/replay" },
        { "POST", "/api/dead-letters/8d5e5a0e-0000-0000-0000-000000000001/purge" },
        { "GET", "/api/live" },
        { "GET", "/api/tail" },
    };

    public async Task InitializeAsync() => _host = await DashboardHost.StartAsync(
        s =>
        {
            s.AddSingleton(_bus);
            s.AddAuthentication("Test").AddScheme<AuthenticationSchemeOptions, EveryoneIsVisitor>("Test", null);
            // Signed in is not enough: the policy lets in only requests that carry the test's header.
            s.AddAuthorization(o => o.AddPolicy(Policy, p => p.RequireAuthenticatedUser()
                .RequireAssertion(c => c.Resource is HttpContext http && http.Request.Headers.ContainsKey(LetIn))));
        },
        o => o.EnableActions = true,
        afterMap: (app, map) =>
        {
            app.UseAuthentication();
            app.UseAuthorization();
            map.Group.RequireAuthorization(Policy);
        });

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        _bus.Dispose();
    }

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task Route_PolicyRefuses_Is403AndRunsNothing(string method, string path)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), DashboardHost.Prefix + path);
        request.Headers.Add("X-RxEventBus-Action", "1");

        using var response = await _host.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);

        response.StatusCode.Should().Be(HttpStatusCode.Forbidden, $"{method} {path} is behind the group's policy");
    }

    [Fact]
    public async Task Route_PolicyAllows_IsServed()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, DashboardHost.Prefix + "/api/overview");
        request.Headers.Add(LetIn, "yes");

        using var response = await _host.Client.SendAsync(request);

        response.StatusCode.Should().Be(HttpStatusCode.OK, "the same route is served to whom the policy lets in");
    }

    private sealed class EveryoneIsVisitor(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        protected override Task<AuthenticateResult> HandleAuthenticateAsync() =>
            Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(
                new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, "visitor")], "Test")), "Test")));
    }
}
