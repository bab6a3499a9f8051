using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using RxEventBus.Dashboard.Internal;

namespace RxEventBus.Dashboard;

/// <summary>Maps the RxEventBus dashboard into an ASP.NET Core app.</summary>
public static class DashboardEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Serves the dashboard under <paramref name="prefix"/>: the page at <c>{prefix}/</c>, its files at
    /// <c>{prefix}/assets/{file}</c>, and the REST and Server-Sent-Events endpoints at <c>{prefix}/api/…</c>
    /// (docs/dashboard.md). Nothing is served unless this is called.
    /// </summary>
    /// <remarks>
    /// The dashboard reads the app's services on its first request: an <see cref="EventBus"/> (required); the
    /// persistence consumer that AddPostgresPersistence registers, or a <c>PostgresConsumer</c>; else an
    /// <c>EventStore</c> and a <c>DeadLetterStore</c> registered alone. Without a store the stored-event routes
    /// answer 404. It is exactly as exposed as the returned group's authorization makes it: chain
    /// <c>.RequireAuthorization("policy")</c>.
    /// </remarks>
    /// <param name="endpoints">The app (<c>WebApplication</c>) or a route group.</param>
    /// <param name="prefix">Where to serve it; starts with <c>/</c>. Default <c>/rxeventbus</c>.</param>
    /// <param name="configure">Sets the <see cref="DashboardOptions"/>; by default read-only, live metrics every second.</param>
    /// <returns>The route group of every dashboard endpoint, to add authorization or other conventions to.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="endpoints"/> or <paramref name="prefix"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="prefix"/> does not start with <c>/</c>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range (<see cref="DashboardOptions.Validate"/>).</exception>
    public static RouteGroupBuilder MapRxEventBusDashboard(this IEndpointRouteBuilder endpoints, string prefix = "/rxeventbus",
        Action<DashboardOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(prefix);
        if (!prefix.StartsWith('/'))
        {
            throw new ArgumentException($"The dashboard's prefix must start with '/', but is '{prefix}'.", nameof(prefix));
        }

        var options = new DashboardOptions();
        configure?.Invoke(options);
        options.Validate();
        var state = new DashboardState(options, endpoints.ServiceProvider);

        var group = endpoints.MapGroup(prefix.TrimEnd('/'));
        group.MapGet("/", static (HttpContext context) =>
        {
            // The page refers to its files relatively (assets/app.js): from {prefix} without the slash they would
            // resolve beside the prefix, not under it.
            if (!context.Request.Path.HasValue || !context.Request.Path.Value.EndsWith('/'))
            {
                return Results.Redirect($"{context.Request.PathBase}{context.Request.Path}/{context.Request.QueryString}");
            }

            return StaticAssets.Serve(context, "index.html");
        });
        group.MapGet("/assets/{file}", static (HttpContext context, string file) => StaticAssets.Serve(context, file));

        var api = group.MapGroup("/api");
        BusEndpoints.Map(api, state);
        StoreEndpoints.Map(api, state);
        DeadLetterEndpoints.Map(api, state);
        StreamEndpoints.Map(api, state);
        return group;
    }
}
