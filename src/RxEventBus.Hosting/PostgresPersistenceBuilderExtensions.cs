using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using RxEventBus.Hosting;
using RxEventBus.Hosting.Internal;
using RxEventBus.Postgres;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds PostgreSQL persistence to the bus registered by <c>AddRxEventBus</c>.</summary>
public static class PostgresPersistenceBuilderExtensions
{
    /// <summary>
    /// The configuration section whose keys, named as the properties of <see cref="PostgresPersistenceOptions"/>,
    /// set the persistence: <c>RxEventBus:Persistence</c> (in <c>appsettings.json</c>,
    /// <c>"RxEventBus": { "Persistence": { "PoolSize": 2 } }</c>).
    /// </summary>
    public const string SectionName = "RxEventBus:Persistence";

    /// <summary>
    /// Persists the bus's events to PostgreSQL for the life of the host: registers
    /// <see cref="PostgresPersistenceOptions"/> through the options pattern, and
    /// <see cref="PostgresPersistenceService"/>, the hosted service that starts the consumer and drains it on
    /// shutdown.
    /// </summary>
    /// <remarks>
    /// <para>The options are set, each source over the one before (docs/configuration.md): the defaults; the
    /// <see cref="SectionName"/> section of <paramref name="configuration"/>, by property names (durations as
    /// <c>hh:mm:ss</c>, <c>Topics</c> an array, <c>ConnectionString</c> either form of <see cref="DatabaseUrl"/>);
    /// the <c>EB_PG_*</c> names at the root of <paramref name="configuration"/>, read by the rules of
    /// <see cref="PostgresPersistenceOptions.FromVariables(Func{string, string})"/>, so the environment-variables
    /// provider feeds them as they are; then <paramref name="configure"/>, and any
    /// <c>services.Configure&lt;PostgresPersistenceOptions&gt;(…)</c>.</para>
    /// <para>The options are checked when the host starts (<c>ValidateOnStart</c>), before any hosted service
    /// starts: a value that cannot be read fails the start with a <see cref="PostgresConfigurationException"/>
    /// naming its variable; values that break a rule (<see cref="PostgresPersistenceOptions.Validate()"/>) with an
    /// <see cref="OptionsValidationException"/> naming the property and its variable. While persistence is disabled
    /// only the values read are checked.</para>
    /// </remarks>
    /// <param name="builder">The bus's builder.</param>
    /// <param name="configuration">Where the section and the <c>EB_PG_*</c> keys are; null for the container's
    /// <see cref="IConfiguration"/> (the host's), or none if it has none.</param>
    /// <param name="configure">Changes to the configured settings, applied before they are checked; for
    /// settings that have no variable, such as <see cref="PostgresPersistenceOptions.Serializer"/>.</param>
    /// <returns>The same builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    /// <exception cref="InvalidOperationException">Persistence was already added to this bus.</exception>
    public static RxEventBusBuilder AddPostgresPersistence(
        this RxEventBusBuilder builder,
        IConfiguration? configuration = null,
        Action<PostgresPersistenceOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        if (services.Any(s => s.ServiceType == typeof(PostgresPersistenceService)))
        {
            throw new InvalidOperationException(
                "AddPostgresPersistence was already called for this bus: one persistence consumer subscribes to it, and its settings come from one place.");
        }

        var options = services.AddOptions<PostgresPersistenceOptions>()
            .Configure<IServiceProvider>((options, provider) =>
            {
                if ((configuration ?? provider.GetService<IConfiguration>()) is { } source)
                {
                    Bind(options, source.GetSection(SectionName));
                    options.ReadVariables(name => source[name]);
                }
            });
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PostgresPersistenceOptions>, PostgresPersistenceOptionsValidator>());
        options.ValidateOnStart();
        services.AddSingleton(static provider => provider.GetRequiredService<IOptions<PostgresPersistenceOptions>>().Value);
        services.AddSingleton<PostgresPersistenceService>();
        services.AddHostedService(static provider => provider.GetRequiredService<PostgresPersistenceService>());
        return builder;
    }

    private static void Bind(PostgresPersistenceOptions options, IConfigurationSection section)
    {
        section.Bind(options);
        // The binder adds a list's items to those it holds, which would keep the default ".*" beside them.
        if (section.GetSection(nameof(PostgresPersistenceOptions.Topics)) is { } topics && topics.Exists())
        {
            options.Topics = topics.Get<string[]>() ?? [];
        }

        if (section[nameof(PostgresPersistenceOptions.ConnectionString)] is { } connection && !string.IsNullOrWhiteSpace(connection))
        {
            try
            {
                options.ConnectionString = DatabaseUrl.ToConnectionString(connection);
            }
            catch (ArgumentException e)
            {
                // DatabaseUrl's messages are built to hold no password, so this one may be kept whole.
                throw new PostgresConfigurationException(
                    section.GetSection(nameof(PostgresPersistenceOptions.ConnectionString)).Path,
                    $"{section.Path}:{nameof(PostgresPersistenceOptions.ConnectionString)} must be postgres://user:password@host:port/database " +
                    $"or an Npgsql connection string (Host=…;Username=…;Password=…;Database=…). {e.Message}",
                    e);
            }
        }
    }
}
