using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace RxEventBus.Dashboard.Internal;

/// <summary>
/// The Server-Sent Events framing both streams use: <c>text/event-stream</c>, not cached, a <c>retry:</c> line
/// first, then messages <c>event: name\ndata: one-line JSON\n\n</c>, each flushed as it is written.
/// </summary>
internal static class ServerSentEvents
{
    public static async Task StartAsync(HttpContext context, TimeSpan reconnectDelay, CancellationToken cancellationToken)
    {
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        // Proxies that buffer responses (nginx) would hold the stream back.
        response.Headers["X-Accel-Buffering"] = "no";
        var retry = ((long)reconnectDelay.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
        await response.WriteAsync($"retry: {retry}\n\n", cancellationToken).ConfigureAwait(false);
        await response.Body.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    public static string Frame<T>(string name, T data) => $"event: {name}\ndata: {DashboardJson.Line(data)}\n\n";

    public static async Task WriteAsync(HttpResponse response, string frame, CancellationToken cancellationToken)
    {
        await response.WriteAsync(frame, cancellationToken).ConfigureAwait(false);
        await response.Body.FlushAsync(cancellationToken).ConfigureAwait(false);
    }
}
