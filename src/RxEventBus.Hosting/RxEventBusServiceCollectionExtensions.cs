using Microsoft.Extensions.Configuration;
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
    /// The configuration section whose keys, named as the properties of <see cref="EventBusOptionsBuilder"/>, set
    /// the bus: <c>RxEventBus</c> (in <c>appsettings.json</c>, <c>"RxEventBus": { "Topics": ["orders"],
    /// "DefaultSource": "shop", "DefaultTtl": "00:15:00" }</c>). The scheduler and the id generator are set in code only.
    /// </summary>
    public const string SectionName = "RxEventBus";

    /// <summary>
    /// Registers one <see cref="EventBus"/> for the whole container (a singleton, disposed with it), built
    /// from the options pattern's <see cref="EventBusOptionsBuilder"/>: the <see cref="SectionName"/> section of
    /// the container's <see cref="IConfiguration"/> (when it has one), then <paramref name="configure"/>. Calling it
    /// again adds settings to the same bus. The options are checked when the host starts (<c>ValidateOnStart</c>):
    /// a bad value fails the start with an <see cref="OptionsValidationException"/> naming the option.
    /// When the container has an <see cref="ILoggerFactory"/> (a host always has), what the bus reports on
    /// <see cref="EventBus.Errors"/> and <see cref="EventBus.Rejections"/> is logged under the category
    /// <c>RxEventBus.EventBus</c> (event ids 102-108, docs/observability.md).
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the bus's options (topics, scheduler, defaults); null for the configured or default ones.</param>
    /// <returns>A builder to add integrations to, e.g. <c>.AddPostgresPersistence(configuration)</c>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> is null.</exception>
    public static RxEventBusBuilder AddRxEventBus(this IServiceCollection services, Action<EventBusOptionsBuilder>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<EventBusOptionsBuilder>();
        if (!services.Any(static s => s.ServiceType == typeof(EventBus)))
        {
            // Once, and first: configuration is read before any configure action (even one registered before this
            // call), which may change what it set.
            ConfigurationFirst.Add<EventBusOptionsBuilder>(
                services, static (bus, provider) => provider.GetService<IConfiguration>()?.GetSection(SectionName).Bind(bus));
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<EventBusOptionsBuilder>, EventBusOptionsValidator>());
            options.ValidateOnStart();
        }

        if (configure is not null)
        {
            options.Configure(configure);
        }

        // Logs the bus's Errors and Rejections when the host has logging (Internal/EventBusLogging.cs).
        services.TryAddSingleton(static provider =>
            new EventBus(provider.GetRequiredService<IOptions<EventBusOptionsBuilder>>().Value.Build())
                .LogTo(provider.GetService<ILoggerFactory>()));
        return new RxEventBusBuilder(services);
    }
}
