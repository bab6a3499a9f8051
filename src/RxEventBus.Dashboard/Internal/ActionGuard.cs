using Microsoft.AspNetCore.Http;

namespace RxEventBus.Dashboard.Internal;

/// <summary>
/// Whether a request may run an action (replay, purge). Besides the endpoint's authorization, two checks keep
/// another site from making a signed-in user's browser run one (cross-site request forgery):
/// <list type="bullet">
/// <item>the request must carry <c>X-RxEventBus-Action: 1</c>. A form cannot set a header, and a cross-site
/// fetch with a custom header needs a CORS preflight, which the dashboard never approves;</item>
/// <item>an <c>Origin</c> header, when present, must be the request's own scheme, host and port.</item>
/// </list>
/// </summary>
internal static class ActionGuard
{
    public const string HeaderName = "X-RxEventBus-Action";

    public static IResult? Refuse(DashboardOptions options, HttpRequest request)
    {
        if (!options.EnableActions)
        {
            return Problems.Forbidden("Actions are off",
                "This dashboard is read-only: replay and purge are served only with DashboardOptions.EnableActions = true.");
        }

        if (request.Headers[HeaderName] != "1")
        {
            return Problems.BadRequest($"An action needs the request header {HeaderName}: 1 (the dashboard's guard against cross-site requests).");
        }

        var origin = request.Headers.Origin.ToString();
        if (origin.Length > 0 && !SameOrigin(origin, request))
        {
            return Problems.Forbidden("Cross-site request refused",
                $"The request comes from origin '{origin}', not from this dashboard's {request.Scheme}://{request.Host}.");
        }

        return null;
    }

    private static bool SameOrigin(string origin, HttpRequest request)
    {
        if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri))
        {
            return false; // "null" (a sandboxed page, a file) or garbage: not this dashboard.
        }

        var port = request.Host.Port ?? (request.IsHttps ? 443 : 80);
        return string.Equals(uri.Scheme, request.Scheme, StringComparison.OrdinalIgnoreCase)
            && string.Equals(uri.Host, request.Host.Host, StringComparison.OrdinalIgnoreCase)
            && uri.Port == port;
    }
}
