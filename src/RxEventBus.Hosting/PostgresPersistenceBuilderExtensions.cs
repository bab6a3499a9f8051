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
    /// <c>hh:mm:ss</c>, <c>Topics</c> an array, <c>ConnectionString</c> either form of <see cref="DatabaseUrl"/>,
    /// <c>Overflow</c> as <c>EB_PG_OVERFLOW</c> is written);
    /// the <c>EB_PG_*</c> names at the root of <paramref name="configuration"/>, read by the rules of
    /// <see cref="PostgresPersistenceOptions.FromVariables(Func{string, string})"/>, so the environment-variables
    /// provider feeds them as they are; then <paramref name="configure"/>, and any
    /// <c>services.Configure&lt;PostgresPersistenceOptions&gt;(…)</c>, whether called before or after this.</para>
    /// <para>The options are checked when the host starts (<c>ValidateOnStart</c>), before any hosted service
    /// starts: a value that cannot be read fails the start with a <see cref="PostgresConfigurationException"/>
    /// naming its variable or key; values that break a rule (<see cref="PostgresPersistenceOptions.Validate()"/>) with an
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

        var options = services.AddOptions<PostgresPersistenceOptions>();
        ConfigurationFirst.Add<PostgresPersistenceOptions>(services, (options, provider) =>
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

    // Key by key rather than section.Bind, so a value that cannot be read fails naming its key (the binder's own
    // InvalidOperationException names neither the rule nor the library), and the database URL and the overflow
    // policy are read by the EB_PG_* rules. A blank key is unset, as an EB_PG_* variable is.
    private static void Bind(PostgresPersistenceOptions options, IConfigurationSection section)
    {
        foreach (var property in typeof(PostgresPersistenceOptions).GetProperties())
        {
            var key = section.GetSection(property.Name);
            if (!property.CanWrite || property.Name == nameof(PostgresPersistenceOptions.Serializer)
                || (string.IsNullOrWhiteSpace(key.Value) && !key.GetChildren().Any()))
            {
                continue;
            }

            switch (property.Name)
            {
                case nameof(PostgresPersistenceOptions.Topics):
                    // Replaces the default ".*": the binder would add the items to it.
                    options.Topics = key.Value is { } one ? [one] : key.Get<string[]>() ?? [];
                    break;
                case nameof(PostgresPersistenceOptions.ConnectionString):
                    options.ConnectionString = PostgresPersistenceOptions.ConnectionStringFrom(key.Value!, key.Path, key.Path);
                    break;
                case nameof(PostgresPersistenceOptions.Overflow):
                    options.Overflow = PostgresPersistenceOptions.ParseOverflow(key.Value!) ?? throw new PostgresConfigurationException(
                        key.Path, $"{key.Path} must be {PostgresPersistenceOptions.OverflowChoices}, but is '{key.Value}'.");
                    break;
                default:
                    property.SetValue(options, Read(key, property.PropertyType));
                    break;
            }
        }
    }

    private static object? Read(IConfigurationSection key, Type type)
    {
        try
        {
            return key.Get(type);
        }
        catch (InvalidOperationException e)
        {
            // No value here is a password: the connection string is read above, by rules that never show it.
            var expected = type == typeof(int) ? "a whole number (e.g. 4)"
                : type == typeof(TimeSpan) ? "a duration written hh:mm:ss[.fff] (e.g. 00:00:30)"
                : type == typeof(bool) ? "true or false"
                : type == typeof(double) ? "a number (e.g. 0.5)"
                : $"a {type.Name}";
            throw new PostgresConfigurationException(key.Path, $"{key.Path} must be {expected}, but is '{key.Value}'.", e);
        }
    }
}
