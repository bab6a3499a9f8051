using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace RxEventBus.Hosting.Internal;

// Options run their configure actions in the order they were registered. Reading configuration must come before
// every action written in code, even a services.Configure<T>(…) registered before AddRxEventBus or
// AddPostgresPersistence, or it would overwrite what code set: so it is put ahead of the first one already there.
internal static class ConfigurationFirst
{
    internal static void Add<TOptions>(IServiceCollection services, Action<TOptions, IServiceProvider> read)
        where TOptions : class
    {
        var descriptor = ServiceDescriptor.Transient<IConfigureOptions<TOptions>>(provider =>
            new ConfigureNamedOptions<TOptions, IServiceProvider>(Options.DefaultName, provider, read));
        var first = 0;
        while (first < services.Count && services[first].ServiceType != typeof(IConfigureOptions<TOptions>))
        {
            first++;
        }

        services.Insert(first, descriptor);
    }
}
