using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RxEventBus;
using RxEventBus.Hosting;
using RxEventBus.Hosting.Internal;

// In the DI namespace, as Microsoft's guidance for libraries asks: AddRxEventBus is found wherever services are.
namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers RxEventBus in a service collection.</summary>
public static class RxEventBusServiceCollectionExtensions
{
    /// <summary>
    /// Registers one <see cref="EventBus"/> for the whole container (a singleton, disposed with it), built
    /// from the settings <paramref name="configure"/> gives. Calling it again adds settings to the same bus.
    /// When the container has an <see cref="ILoggerFactory"/> (a host always has), what the bus reports on
    /// <see cref="EventBus.Errors"/> and <see cref="EventBus.Rejections"/> is logged under the category
    /// <c>RxEventBus.EventBus</c> (event ids 102-108, docs/observability.md).
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the bus's options (topics, scheduler, defaults); null for the defaults.</param>
    /// <returns>A builder to add integrations to, e.g. <c>.AddPostgresPersistence(configuration)</c>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> is null.</exception>
    public static RxEventBusBuilder AddRxEventBus(this IServiceCollection services, Action<EventBusOptionsBuilder>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<EventBusOptionsBuilder>();
        if (configure is not null)
        {
            services.Configure(configure);
        }

        // Logs the bus's Errors and Rejections when the host has logging (Internal/EventBusLogging.cs).
        services.TryAddSingleton(static provider =>
            new EventBus(provider.GetRequiredService<IOptions<EventBusOptionsBuilder>>().Value.Build())
                .LogTo(provider.GetService<ILoggerFactory>()));
        return new RxEventBusBuilder(services);
    }
}
