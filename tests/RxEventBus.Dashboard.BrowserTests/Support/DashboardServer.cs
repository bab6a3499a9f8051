using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RxEventBus.Postgres;
using RxEventBus.Postgres.Tests.Support;

using RxEventBus.Dashboard.Tests.Support;

namespace RxEventBus.Dashboard.BrowserTests.Support;

/// <summary>
/// A real Kestrel server on 127.0.0.1 (a free port) with the dashboard mapped at /rxeventbus, actions on, over a
/// bus and a started <see cref="PostgresConsumer"/> registered as services (as the endpoint tests register them).
/// </summary>
internal sealed class DashboardServer : IAsyncDisposable
{
    public const string Prefix = "/rxeventbus";

    private readonly WebApplication _app;

    private DashboardServer(WebApplication app, PostgresConsumer consumer, EventBus bus)
    {
        _app = app;
        Consumer = consumer;
        Bus = bus;
        PageUrl = app.Urls.Single().TrimEnd('/') + Prefix + "/";
    }

    /// <summary>The page: http://127.0.0.1:{port}/rxeventbus/.</summary>
    public string PageUrl { get; }

    public PostgresConsumer Consumer { get; }

    public EventBus Bus { get; }

    public static async Task<DashboardServer> StartAsync(PostgresFixture database, EventBus bus, string schema, string table,
        Action<PostgresPersistenceOptions>? configure = null, Func<PostgresPersistenceOptions, Task>? beforeStart = null,
        Func<HttpContext, Task>? beforeEachRequest = null)
    {
        var consumer = await Consumers.StartAsync(database, bus, schema, table, configure, beforeStart);

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        // A bound on the stop: the dashboard's streams end when the app stops, and anything else still open when
        // it stops holds StopAsync no longer than this.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));
        builder.Services.AddSingleton(bus).AddSingleton(consumer);
        var app = builder.Build();
        if (beforeEachRequest is not null)
        {
            // A test's hold on a request (to answer it late), before the dashboard sees it.
            app.Use(async (context, next) =>
            {
                await beforeEachRequest(context);
                await next(context);
            });
        }

        app.MapRxEventBusDashboard(Prefix, o =>
        {
            o.EnableActions = true;
            o.LiveInterval = TimeSpan.FromMilliseconds(250);
        });
        await app.StartAsync();
        return new DashboardServer(app, consumer, bus);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        await Consumer.DisposeAsync();
    }
}
