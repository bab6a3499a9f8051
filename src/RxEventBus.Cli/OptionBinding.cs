using System.CommandLine;
using RxEventBus.Postgres;

namespace RxEventBus.Cli;

/// <summary>
/// Builds <see cref="PostgresPersistenceOptions"/> from the command line. Each setting is taken from, strongest
/// first: its flag, its <c>EB_PG_*</c> environment variable, the command's own default; what none of them sets
/// keeps the library's default. The values go through <c>FromVariables</c>, so flags and variables are checked
/// by one set of rules; the library names each setting in its messages as this says: by the flag when a flag (or
/// the command's default for a flag) gave the value, else by the variable.
/// </summary>
internal static class OptionBinding
{
    public const string DatabaseUrlVariable = "EB_PG_DATABASE_URL";

    // Two names of one setting: a command default for one must not apply when the other is set.
    private static readonly string[][] _aliases = [["EB_PG_BATCH_SIZE", "EB_PG_MAX_DEMAND"]];

    /// <summary>Reads the options.</summary>
    /// <param name="parse">The parsed command line.</param>
    /// <param name="flags">The command's flags that mirror variables.</param>
    /// <param name="environment">Reads an environment variable.</param>
    /// <param name="defaults">The command's own defaults, by variable; weaker than the environment.</param>
    /// <param name="databaseLater">No database is given, and none is required: the caller sets
    /// <see cref="PostgresPersistenceOptions.ConnectionString"/> once it has one (the demo's throwaway cluster).</param>
    /// <exception cref="CliUsageException">A value is not usable; the message names the flag or the variable.</exception>
    public static PostgresPersistenceOptions Bind(
        ParseResult parse,
        IReadOnlyList<PersistenceFlag> flags,
        Func<string, string?> environment,
        IReadOnlyDictionary<string, string> defaults,
        bool databaseLater = false)
    {
        var given = flags.Where(flag => GivenValue(parse, flag) is not null).ToList();
        var sources = new Dictionary<string, Source>(StringComparer.Ordinal);

        // Called by the library for each setting a message names; by then that setting was looked up.
        string NameOf(string variable) =>
            sources.TryGetValue(variable, out var source) && source.Kind is SourceKind.Flag or SourceKind.CommandDefault && source.Flag is { } flag
                ? flag.Name
                : variable;

        string? Lookup(string variable)
        {
            foreach (var flag in given)
            {
                if (flag.Variable == variable)
                {
                    var value = GivenValue(parse, flag);
                    sources[variable] = new Source(SourceKind.Flag, flag, value!);
                    return value;
                }

                if (flag.Hides.Contains(variable))
                {
                    return null;
                }
            }

            if (Set(environment(variable)) is { } fromEnvironment)
            {
                sources[variable] = new Source(SourceKind.Environment, FlagFor(flags, variable), fromEnvironment);
                return fromEnvironment;
            }

            if (defaults.TryGetValue(variable, out var fallback) && !AliasesOf(variable).Any(alias => Set(environment(alias)) is not null))
            {
                sources[variable] = new Source(SourceKind.CommandDefault, FlagFor(flags, variable), fallback);
                return fallback;
            }

            return null;
        }

        try
        {
            return PostgresPersistenceOptions.FromVariables(Lookup, NameOf, requireDatabaseUrl: !databaseLater);
        }
        catch (PostgresConfigurationException e)
        {
            throw new CliUsageException(Explain(e, sources));
        }
    }

    /// <summary>The value in force for <paramref name="flag"/>: typed, or else from its variable; null when neither is set.</summary>
    public static string? ValueOf(ParseResult parse, PersistenceFlag flag, Func<string, string?> environment) =>
        GivenValue(parse, flag) ?? Set(environment(flag.Variable));

    /// <summary>The value typed for <paramref name="flag"/>, or null when it was left out.</summary>
    public static string? GivenValue(ParseResult parse, PersistenceFlag flag) => Set(parse.GetValue(flag.Option));

    // The library's message already names each setting as the user gave it (NameOf); this adds where the value at
    // fault came from when that was not the command line itself.
    private static string Explain(PostgresConfigurationException e, Dictionary<string, Source> sources)
    {
        var message = e.Message;
        if (!sources.TryGetValue(e.Variable, out var culprit))
        {
            return message;
        }

        return culprit switch
        {
            { Kind: SourceKind.Environment, Flag: { } flag } => $"{message} ({e.Variable} is set in the environment; {flag.Name} overrides it.)",
            { Kind: SourceKind.Environment } => $"{message} ({e.Variable} is set in the environment.)",
            { Kind: SourceKind.CommandDefault, Flag: { } flag } => $"{message} ('{culprit.Value}' is this command's default for {flag.Name}; give {flag.Name} to change it.)",
            _ => message,
        };
    }

    private static PersistenceFlag? FlagFor(IReadOnlyList<PersistenceFlag> flags, string variable) =>
        flags.FirstOrDefault(flag => flag.Variable == variable || flag.Hides.Contains(variable));

    private static IEnumerable<string> AliasesOf(string variable) =>
        _aliases.Where(names => names.Contains(variable)).SelectMany(names => names).Where(name => name != variable);

    private static string? Set(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;

    private enum SourceKind
    {
        Flag,
        Environment,
        CommandDefault,
    }

    private sealed record Source(SourceKind Kind, PersistenceFlag? Flag, string Value);
}
