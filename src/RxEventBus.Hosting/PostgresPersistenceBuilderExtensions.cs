using Microsoft.Extensions.Configuration;
using RxEventBus.Hosting;
using RxEventBus.Postgres;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds PostgreSQL persistence to the bus registered by <c>AddRxEventBus</c>.</summary>
public static class PostgresPersistenceBuilderExtensions
{
    private const string DatabaseUrlVariable = "EB_PG_DATABASE_URL";
    private const string StandInUrl = "Host=unset.invalid";

    /// <summary>
    /// Persists the bus's events to PostgreSQL for the life of the host: registers
    /// <see cref="PostgresPersistenceOptions"/>, read from the <c>EB_PG_*</c> keys of
    /// <paramref name="configuration"/> with <see cref="PostgresPersistenceOptions.FromVariables(Func{string, string})"/>
    /// and then changed by <paramref name="configure"/>, and <see cref="PostgresPersistenceService"/>, the hosted
    /// service that starts the consumer and drains it on shutdown.
    /// </summary>
    /// <remarks>
    /// <para>The keys are the seed's variable names at the root of <paramref name="configuration"/>
    /// (<c>EB_PG_DATABASE_URL</c>, <c>EB_PG_POOL_SIZE</c>, …), so the environment-variables provider feeds them
    /// as they are; pass <c>configuration.GetSection("Persistence")</c> to read them from a section of
    /// <c>appsettings.json</c> instead. The values are read by the same rules, with the same messages, as
    /// <c>FromVariables</c> (docs/configuration.md).</para>
    /// <para>The settings are read and checked when the host starts, before any hosted service starts: a bad
    /// value fails the host's start with a <see cref="PostgresConfigurationException"/> (or, for a value set in
    /// code, an <see cref="ArgumentException"/>) whose message names the variable.</para>
    /// </remarks>
    /// <param name="builder">The bus's builder.</param>
    /// <param name="configuration">Where the <c>EB_PG_*</c> keys are; null for the container's
    /// <see cref="IConfiguration"/> (the host's), or none if it has none.</param>
    /// <param name="configure">Changes to the configured settings, applied before they are checked; for
    /// settings that have no variable, such as <see cref="PostgresPersistenceOptionsBuilder.Serializer"/>.</param>
    /// <returns>The same builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    /// <exception cref="InvalidOperationException">Persistence was already added to this bus.</exception>
    public static RxEventBusBuilder AddPostgresPersistence(
        this RxEventBusBuilder builder,
        IConfiguration? configuration = null,
        Action<PostgresPersistenceOptionsBuilder>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        if (services.Any(s => s.ServiceType == typeof(PostgresPersistenceService)))
        {
            throw new InvalidOperationException(
                "AddPostgresPersistence was already called for this bus: one persistence consumer subscribes to it, and its settings come from one place.");
        }

        services.AddSingleton(provider => ReadOptions(configuration ?? provider.GetService<IConfiguration>(), configure));
        services.AddSingleton<PostgresPersistenceService>();
        services.AddHostedService(static provider => provider.GetRequiredService<PostgresPersistenceService>());
        return builder;
    }

    private static PostgresPersistenceOptions ReadOptions(IConfiguration? configuration, Action<PostgresPersistenceOptionsBuilder>? configure)
    {
        Func<string, string?> lookup = configuration is null ? static _ => null : name => configuration[name];
        if (configure is null)
        {
            return PostgresPersistenceOptions.FromVariables(lookup);
        }

        // FromVariables requires the database URL while persistence is enabled, but here the code may still give
        // it. Only for that refusal, the variables are read again with a stand-in URL, which the builder clears
        // before the code runs; Build() then requires a connection string, naming EB_PG_DATABASE_URL, if the
        // code gave none. Every other check runs exactly as FromVariables runs it.
        PostgresPersistenceOptions configured;
        var urlMissing = false;
        try
        {
            configured = PostgresPersistenceOptions.FromVariables(lookup);
        }
        catch (PostgresConfigurationException e) when (e.Variable == DatabaseUrlVariable && string.IsNullOrWhiteSpace(lookup(DatabaseUrlVariable)))
        {
            urlMissing = true;
            configured = PostgresPersistenceOptions.FromVariables(name => name == DatabaseUrlVariable ? StandInUrl : lookup(name));
        }

        var options = new PostgresPersistenceOptionsBuilder(configured);
        if (urlMissing)
        {
            options.ConnectionString = string.Empty;
        }

        configure(options);
        return options.Build();
    }
}
