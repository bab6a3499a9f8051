using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RxEventBus.Dashboard;

namespace RxEventBus.Cli;

/// <summary>
/// The dashboard as the command line serves it (<c>rxeventbus dashboard</c>, <c>rxeventbus demo --dashboard</c>): a
/// Kestrel host with the services the dashboard reads, the dashboard mapped at <see cref="Prefix"/> and <c>/</c>
/// redirected there. Loopback only unless the caller allowed otherwise (<see cref="CheckUrls"/>).
/// </summary>
internal sealed class DashboardServer : IAsyncDisposable
{
    public const string Prefix = "/rxeventbus";

    public const string DefaultUrls = "http://127.0.0.1:5080";

    // A bound on the stop: an open page's two Server-Sent-Events streams end when the app stops (StreamEndpoints), and
    // Kestrel waits no longer than this for any other request still running, then closes the connections.
    private static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(2);

    private readonly WebApplication _app;

    private DashboardServer(WebApplication app, string url)
    {
        _app = app;
        Url = url;
    }

    /// <summary>The page, at the address Kestrel actually bound (the port it chose for port 0).</summary>
    public string Url { get; }

    /// <summary>The URLs of <c>--urls</c>, separated by ';', each checked to be http(s) on a loopback host unless <paramref name="allowRemote"/>.</summary>
    /// <exception cref="CliUsageException">A URL cannot be read, or is not on a loopback host.</exception>
    public static IReadOnlyList<string> CheckUrls(string value, bool allowRemote)
    {
        var urls = value.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (urls.Length == 0)
        {
            throw new CliUsageException($"--urls needs at least one URL, e.g. {DefaultUrls}.");
        }

        foreach (var url in urls)
        {
            // Kestrel's wildcards (http://*:5080, http://+:5080) are not URIs; they listen everywhere.
            var host = HostOf(url);
            if (host is null)
            {
                throw new CliUsageException($"--urls must hold URLs such as {DefaultUrls}, separated by ';', but '{url}' is not one.");
            }

            if (!allowRemote && !IsLoopback(host))
            {
                throw new CliUsageException(
                    $"--urls {url} would serve the dashboard beyond this machine; it has no authentication of its own, so the command " +
                    "listens on loopback only (127.0.0.1, ::1, localhost). Give --allow-remote to listen there anyway, and put the " +
                    "dashboard behind a firewall or a proxy that authenticates.");
            }
        }

        return urls;
    }

    /// <summary>
    /// Starts Kestrel on <paramref name="urls"/> (checked by <see cref="CheckUrls"/>) with <paramref name="services"/>
    /// registered and the dashboard mapped; the host's configuration cannot add addresses, and unless
    /// <paramref name="allowRemote"/> a bound address that is not loopback stops it.
    /// </summary>
    /// <param name="urls">Where to listen.</param>
    /// <param name="allowRemote">Whether a non-loopback address may be bound (<c>--allow-remote</c>).</param>
    /// <param name="enableActions">Whether the dead-letter actions are on (<c>--enable-actions</c>).</param>
    /// <param name="services">Registers what the dashboard reads.</param>
    /// <param name="error">Where the server's warnings and errors go, one line each (<see cref="ErrorLoggerProvider"/>).</param>
    /// <param name="prefix">What starts each of those lines: the command, e.g. "rxeventbus dashboard".</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <exception cref="CliUsageException">It was bound beyond loopback without <paramref name="allowRemote"/>.</exception>
    public static async Task<DashboardServer> StartAsync(
        IReadOnlyList<string> urls, bool allowRemote, bool enableActions, Action<IServiceCollection> services, TextWriter error, string prefix,
        CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            // Not the current directory: a stray appsettings.json there must not reconfigure the tool.
            ContentRootPath = AppContext.BaseDirectory,
            ApplicationName = typeof(DashboardServer).Assembly.GetName().Name,
        });

        // Where it listens is --urls and nothing else: the host's configuration (environment variables such as
        // ASPNETCORE_URLS or Kestrel__Endpoints__*__Url, an appsettings file) could otherwise bind other addresses past
        // the loopback check, and a container image sets such variables for its own app.
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection();
        builder.WebHost.UseUrls([.. urls]);

        // The command line reports for itself; the host's console logger would print over its output. Its warnings and
        // errors (a request that failed, and why) go to standard error as one line each.
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(new ErrorLoggerProvider(error, prefix));
        builder.Services.Configure<HostOptions>(static o => o.ShutdownTimeout = ShutdownTimeout);
        services(builder.Services);

        var app = builder.Build();
        app.MapRxEventBusDashboard(Prefix, o => o.EnableActions = enableActions);
        app.MapGet("/", static () => Results.Redirect(Prefix + "/"));
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? [];
        if (!allowRemote && addresses.FirstOrDefault(a => HostOf(a) is not { } host || !IsLoopback(host)) is { } remote)
        {
            // A second lock on the same door: whatever bound it, a non-loopback address is closed at once.
            await app.StopAsync(CancellationToken.None);
            await app.DisposeAsync();
            throw new CliUsageException(
                $"the dashboard was bound to {remote}, beyond this machine, though --allow-remote was not given; it stopped at once.");
        }

        var bound = addresses.FirstOrDefault() ?? urls[0];
        return new DashboardServer(app, bound.TrimEnd('/') + Prefix + "/");
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _app.StopAsync(CancellationToken.None);
        }
        finally
        {
            await _app.DisposeAsync();
        }
    }

    private static string? HostOf(string url)
    {
        var wildcard = url.Replace("://*", "://wildcard.invalid", StringComparison.Ordinal)
            .Replace("://+", "://wildcard.invalid", StringComparison.Ordinal);
        if (!Uri.TryCreate(wildcard, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            return null;
        }

        return uri.Host;
    }

    private static bool IsLoopback(string host) =>
        string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase) ||
        (IPAddress.TryParse(host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));
}
