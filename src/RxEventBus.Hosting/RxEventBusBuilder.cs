using Microsoft.Extensions.DependencyInjection;

namespace RxEventBus.Hosting;

/// <summary>
/// What <see cref="Microsoft.Extensions.DependencyInjection.RxEventBusServiceCollectionExtensions.AddRxEventBus"/> returns: the point integration
/// packages extend, e.g. <c>services.AddRxEventBus(…).AddPostgresPersistence(…)</c>.
/// </summary>
public sealed class RxEventBusBuilder
{
    internal RxEventBusBuilder(IServiceCollection services) => Services = services;

    /// <summary>The service collection the bus is registered in, for extensions to add their services to.</summary>
    public IServiceCollection Services { get; }
}
