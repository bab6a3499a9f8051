using System.Globalization;
using System.Text;

namespace RxEventBus.Postgres;

// Binding from the EB_PG_* variables. Each reader returns null for an unset or blank variable so the
// property keeps the default written in PostgresPersistenceOptions.cs — defaults live in one place only.
public sealed partial class PostgresPersistenceOptions
{
    private const string EnabledVariable = "EB_PG_ENABLED";
    private const string DatabaseUrlVariable = "EB_PG_DATABASE_URL";
    private const string DatabasePoolSizeVariable = "EB_PG_DATABASE_POOL_SIZE";
    private const string TopicsVariable = "EB_PG_TOPICS";
    private const string BufferSizeVariable = "EB_PG_BUFFER_SIZE";
    private const string OverflowVariable = "EB_PG_OVERFLOW";
    private const string PublishTimeoutVariable = "EB_PG_PUBLISH_TIMEOUT_IN_MS";
    private const string PoolSizeVariable = "EB_PG_POOL_SIZE";
    private const string MaxDemandVariable = "EB_PG_MAX_DEMAND";
    private const string BatchSizeVariable = "EB_PG_BATCH_SIZE";
    private const string MinDemandVariable = "EB_PG_MIN_DEMAND";
    private const string BatchDelayVariable = "EB_PG_BATCH_DELAY_IN_MS";
    private const string AutoDeleteVariable = "EB_PG_AUTO_DELETE_WITH_TTL";
    private const string DefaultTtlVariable = "EB_PG_DEFAULT_TTL_IN_MS";
    private const string DeletionPeriodVariable = "EB_PG_DELETION_PERIOD_IN_MS";
    private const string SchemaVariable = "EB_PG_SCHEMA";
    private const string TableVariable = "EB_PG_TABLE";
    private const string EnsureSchemaVariable = "EB_PG_ENSURE_SCHEMA";
    private const string NotifyVariable = "EB_PG_NOTIFY";
    private const string TtlSparesUnreadVariable = "EB_PG_TTL_SPARES_UNREAD";
    private const string IndexLayoutVariable = "EB_PG_INDEX_LAYOUT";
    private const string PayloadTypeVariable = "EB_PG_PAYLOAD_TYPE";
    private const string PartitionIntervalVariable = "EB_PG_PARTITION_INTERVAL_IN_MS";

    private const string TopicSeparator = ";";
    internal const string OverflowChoices = "wait, drop_oldest, drop_newest or fail";
    internal const string IndexLayoutChoices = "default, full or minimal";
    internal const string PayloadTypeChoices = "jsonb, json or bytea";

    /// <summary>
    /// Reads the options from the process's <c>EB_PG_*</c> environment variables; see
    /// <see cref="FromVariables(Func{string, string})"/> for the rules.
    /// </summary>
    /// <returns>Checked options.</returns>
    /// <exception cref="PostgresConfigurationException">A variable has a value that cannot be used.</exception>
    public static PostgresPersistenceOptions FromEnvironment() => FromVariables(Environment.GetEnvironmentVariable);

    /// <summary>
    /// Reads the options from <c>EB_PG_*</c> settings held in <paramref name="variables"/>; see
    /// <see cref="FromVariables(Func{string, string})"/> for the rules.
    /// </summary>
    /// <param name="variables">Settings by variable name (exact, case-sensitive); missing names are unset.</param>
    /// <returns>Checked options.</returns>
    /// <exception cref="PostgresConfigurationException">A variable has a value that cannot be used.</exception>
    public static PostgresPersistenceOptions FromVariables(IReadOnlyDictionary<string, string?> variables)
    {
        ArgumentNullException.ThrowIfNull(variables);
        return FromVariables(name => variables.TryGetValue(name, out var value) ? value : null);
    }

    /// <summary>
    /// Reads the options from <c>EB_PG_*</c> settings, each looked up by name through
    /// <paramref name="lookup"/> (the environment, a configuration section, a test's dictionary).
    /// </summary>
    /// <remarks>
    /// <para>A variable that is unset, empty or blank leaves its property at the default documented on it.
    /// Values are trimmed. Booleans are <c>true</c>/<c>false</c>, <c>1</c>/<c>0</c> or <c>yes</c>/<c>no</c>;
    /// counts and <c>*_IN_MS</c> durations are whole numbers greater than zero written with digits only
    /// (<c>EB_PG_MIN_DEMAND</c> may be 0); <c>EB_PG_TOPICS</c> is regexes separated by <c>;</c>;
    /// <c>EB_PG_OVERFLOW</c> is <c>wait</c>, <c>drop_oldest</c>, <c>drop_newest</c> or <c>fail</c> (or the
    /// <see cref="OverflowPolicy"/> names); <c>EB_PG_DATABASE_URL</c> is read by
    /// <see cref="DatabaseUrl.ToConnectionString"/>. <c>EB_PG_BATCH_SIZE</c> is another name for
    /// <c>EB_PG_MAX_DEMAND</c>: both may be set only to the same number.</para>
    /// <para>Then the values are checked against each other (<see cref="Validate()"/>).
    /// <c>EB_PG_DATABASE_URL</c> is required unless <c>EB_PG_ENABLED</c> is false, so persistence can be
    /// switched off without a database; values that are set are checked even then.</para>
    /// </remarks>
    /// <param name="lookup">Returns a variable's value, or <see langword="null"/> when it is not set.</param>
    /// <returns>Checked options.</returns>
    /// <exception cref="PostgresConfigurationException">
    /// A variable has a value that cannot be used, or two contradict each other. The message names the
    /// variable and what it expects; it never contains the database password.
    /// </exception>
    public static PostgresPersistenceOptions FromVariables(Func<string, string?> lookup) => FromVariables(lookup, static variable => variable);

    // FromVariables, with every setting a message mentions named by `nameOf` (a variable → what the reader knows it
    // as; the command line passes its flags' names for the values its flags gave). Without `requireDatabaseUrl`, the
    // caller gives the connection string later (the demo's throwaway cluster) and every other rule is checked now.
    internal static PostgresPersistenceOptions FromVariables(Func<string, string?> lookup, Func<string, string> nameOf, bool requireDatabaseUrl = true)
    {
        ArgumentNullException.ThrowIfNull(lookup);
        var options = new PostgresPersistenceOptions();
        var maxBatchVariable = options.ReadVariables(lookup, nameOf);
        options.CheckVariablesTogether(nameOf, maxBatchVariable, minDemandSet: Read(lookup, MinDemandVariable) is not null, requireDatabaseUrl);
        return options;
    }

    /// <summary>
    /// Sets each property whose <c>EB_PG_*</c> variable is set in <paramref name="lookup"/>, read by the rules of
    /// <see cref="FromVariables(Func{string, string})"/>, and leaves the others as they are: for options that
    /// another source (a configuration section, code) also sets. Each value read is checked alone; the values
    /// together are checked by <see cref="Validate()"/>.
    /// </summary>
    /// <param name="lookup">Returns a variable's value, or <see langword="null"/> when it is not set.</param>
    /// <exception cref="PostgresConfigurationException">A variable has a value that cannot be used.</exception>
    public void ReadVariables(Func<string, string?> lookup)
    {
        ArgumentNullException.ThrowIfNull(lookup);
        _ = ReadVariables(lookup, static variable => variable);
    }

    // The variable the largest batch was read from: EB_PG_BATCH_SIZE when only that alias was set.
    private string ReadVariables(Func<string, string?> lookup, Func<string, string> nameOf)
    {
        var read = new VariableReader(lookup, nameOf);
        var connectionString = read.ConnectionString();
        var maxDemand = read.Count(MaxDemandVariable, 100);
        var batchSize = read.Count(BatchSizeVariable, 100);
        if (maxDemand is not null && batchSize is not null && maxDemand != batchSize)
        {
            throw new PostgresConfigurationException(
                BatchSizeVariable,
                $"{nameOf(BatchSizeVariable)} and {nameOf(MaxDemandVariable)} are two names for the largest batch and must not differ, " +
                $"but {nameOf(BatchSizeVariable)} is '{batchSize}' and {nameOf(MaxDemandVariable)} is '{maxDemand}'; set only one of them.");
        }

        ConnectionString = connectionString ?? ConnectionString;
        Enabled = read.Boolean(EnabledVariable) ?? Enabled;
        DatabasePoolSize = read.Count(DatabasePoolSizeVariable, 10) ?? DatabasePoolSize;
        Topics = read.Topics() ?? Topics;
        BufferSize = read.Count(BufferSizeVariable, 200) ?? BufferSize;
        Overflow = read.Overflow() ?? Overflow;
        IndexLayout = read.Choice<IndexLayout>(IndexLayoutVariable, IndexLayoutChoices) ?? IndexLayout;
        PayloadType = read.Choice<PayloadType>(PayloadTypeVariable, PayloadTypeChoices) ?? PayloadType;
        PartitionInterval = read.Milliseconds(PartitionIntervalVariable, 86_400_000) ?? PartitionInterval;
        PublishTimeout = read.Milliseconds(PublishTimeoutVariable, 30_000) ?? PublishTimeout;
        PoolSize = read.Count(PoolSizeVariable, 4) ?? PoolSize;
        MaxBatchSize = maxDemand ?? batchSize ?? MaxBatchSize;
        MinDemand = read.Count(MinDemandVariable, 75, allowZero: true) ?? MinDemand;
        MaxBatchDelay = read.Milliseconds(BatchDelayVariable, 50) ?? MaxBatchDelay;
        AutoDeleteWithTtl = read.Boolean(AutoDeleteVariable) ?? AutoDeleteWithTtl;
        DefaultTtl = read.Milliseconds(DefaultTtlVariable, 900_000) ?? DefaultTtl;
        DeletionPeriod = read.Milliseconds(DeletionPeriodVariable, 600_000) ?? DeletionPeriod;
        Schema = read.Identifier(SchemaVariable) ?? Schema;
        Table = read.Identifier(TableVariable) ?? Table;
        EnsureSchema = read.Boolean(EnsureSchemaVariable) ?? EnsureSchema;
        NotifyOnCommit = read.Boolean(NotifyVariable) ?? NotifyOnCommit;
        TtlSparesUnreadEvents = read.Boolean(TtlSparesUnreadVariable) ?? TtlSparesUnreadEvents;
        return maxDemand is null && batchSize is not null ? BatchSizeVariable : MaxDemandVariable;
    }

    /// <summary>The <c>EB_PG_*</c> variable of a property, e.g. <c>EB_PG_POOL_SIZE</c> for <c>PoolSize</c>; null for a setting without one.</summary>
    internal static string? VariableOf(string property) => property switch
    {
        nameof(Enabled) => EnabledVariable,
        nameof(ConnectionString) => DatabaseUrlVariable,
        nameof(DatabasePoolSize) => DatabasePoolSizeVariable,
        nameof(Topics) => TopicsVariable,
        nameof(BufferSize) => BufferSizeVariable,
        nameof(Overflow) => OverflowVariable,
        nameof(PublishTimeout) => PublishTimeoutVariable,
        nameof(PoolSize) => PoolSizeVariable,
        nameof(MaxBatchSize) => MaxDemandVariable,
        nameof(MinDemand) => MinDemandVariable,
        nameof(MaxBatchDelay) => BatchDelayVariable,
        nameof(AutoDeleteWithTtl) => AutoDeleteVariable,
        nameof(DefaultTtl) => DefaultTtlVariable,
        nameof(DeletionPeriod) => DeletionPeriodVariable,
        nameof(Schema) => SchemaVariable,
        nameof(Table) => TableVariable,
        nameof(EnsureSchema) => EnsureSchemaVariable,
        nameof(NotifyOnCommit) => NotifyVariable,
        nameof(TtlSparesUnreadEvents) => TtlSparesUnreadVariable,
        nameof(IndexLayout) => IndexLayoutVariable,
        nameof(PayloadType) => PayloadTypeVariable,
        nameof(PartitionInterval) => PartitionIntervalVariable,
        _ => null,
    };

    /// <summary>
    /// The options on one line, for logs: every setting with its value, the connection string without its
    /// password (<see cref="DatabaseUrl.Redact"/>).
    /// </summary>
    /// <returns>A printable summary that never contains the database password.</returns>
    public override string ToString()
    {
        var connection = string.IsNullOrWhiteSpace(ConnectionString) ? "(none)" : DatabaseUrl.Redact(ConnectionString);
        var text = new StringBuilder(nameof(PostgresPersistenceOptions));
        text.Append(CultureInfo.InvariantCulture, $" {{ Enabled = {Enabled}, ConnectionString = {connection}, DatabasePoolSize = {DatabasePoolSize}");
        text.Append(CultureInfo.InvariantCulture, $", Topics = [{string.Join(TopicSeparator, Topics ?? [])}], BufferSize = {BufferSize}, Overflow = {Overflow}");
        text.Append(CultureInfo.InvariantCulture, $", PublishTimeout = {PublishTimeout.TotalMilliseconds} ms");
        text.Append(CultureInfo.InvariantCulture, $", PoolSize = {PoolSize}, MaxBatchSize = {MaxBatchSize}, MinDemand = {MinDemand}");
        text.Append(CultureInfo.InvariantCulture, $", MaxBatchDelay = {MaxBatchDelay.TotalMilliseconds} ms, AutoDeleteWithTtl = {AutoDeleteWithTtl}");
        text.Append(CultureInfo.InvariantCulture, $", DefaultTtl = {DefaultTtl.TotalMilliseconds} ms, DeletionPeriod = {DeletionPeriod.TotalMilliseconds} ms");
        text.Append(CultureInfo.InvariantCulture, $", Schema = {Schema}, Table = {Table}, IndexLayout = {IndexLayout}, PayloadType = {PayloadType}");
        text.Append(CultureInfo.InvariantCulture, $", PartitionInterval = {(PartitionInterval is { } interval ? $"{interval.TotalMilliseconds} ms" : "none")}");
        text.Append(CultureInfo.InvariantCulture, $", EnsureSchema = {EnsureSchema}, NotifyOnCommit = {NotifyOnCommit}");
        text.Append(CultureInfo.InvariantCulture, $", TtlSparesUnreadEvents = {TtlSparesUnreadEvents}, SubscriberName = {SubscriberName}");
        text.Append(CultureInfo.InvariantCulture, $", InitialRetryDelay = {InitialRetryDelay.TotalMilliseconds} ms, MaxRetryDelay = {MaxRetryDelay.TotalMilliseconds} ms, RetryJitter = {RetryJitter}");
        text.Append(CultureInfo.InvariantCulture, $", ShutdownTimeout = {ShutdownTimeout.TotalMilliseconds} ms, Serializer = {Serializer?.GetType().Name} }}");
        return text.ToString();
    }

    // The rules that only hold for values read from variables, with messages that name the variables; then
    // every rule of Validate(), naming each setting by its variable too.
    private void CheckVariablesTogether(Func<string, string> nameOf, string maxBatchVariable, bool minDemandSet, bool requireDatabaseUrl)
    {
        if (string.IsNullOrWhiteSpace(ConnectionString) && requireDatabaseUrl)
        {
            if (!Enabled)
            {
                // Nothing will connect, and every value that was set has been read and checked.
                return;
            }

            throw new PostgresConfigurationException(
                DatabaseUrlVariable,
                $"{nameOf(DatabaseUrlVariable)} is required while {nameOf(EnabledVariable)} is true: set it to postgres://user:password@host:port/database " +
                $"or to an Npgsql connection string (Host=…;Username=…;Password=…;Database=…), or set {nameOf(EnabledVariable)}=false.");
        }

        // Only a min demand that was set is held against the batch size: a small EB_PG_BATCH_SIZE alone must
        // not fail because of MinDemand's default of 75.
        if (MinDemand > MaxBatchSize && minDemandSet)
        {
            throw new PostgresConfigurationException(
                MinDemandVariable,
                $"{nameOf(MinDemandVariable)} must be a whole number from 0 up to {nameOf(maxBatchVariable)} ({MaxBatchSize}), but is '{MinDemand}'.");
        }

        ThrowIfInvalid(requireDatabaseUrl, property =>
            nameOf(property == nameof(MaxBatchSize) ? maxBatchVariable : VariableOf(property) ?? property));
    }

    // EB_PG_DATABASE_URL's rules, for every place a database is given (a variable, a flag, a configuration key):
    // `setting` is what the message calls it, `variable` what the exception's Variable says.
    internal static string ConnectionStringFrom(string value, string variable, string setting)
    {
        try
        {
            return DatabaseUrl.ToConnectionString(value);
        }
        catch (ArgumentException e)
        {
            // DatabaseUrl's messages are built to hold no password, so this one may be kept whole.
            throw new PostgresConfigurationException(
                variable,
                $"{setting} must be postgres://user:password@host:port/database or an Npgsql connection string " +
                $"(Host=…;Username=…;Password=…;Database=…). {e.Message}",
                e);
        }
    }

    // EB_PG_OVERFLOW's rules, for every place an overflow policy is written as text; null when `value` names none.
    internal static OverflowPolicy? ParseOverflow(string value) => ParseChoice<OverflowPolicy>(value);

    // A choice written as text: "drop_oldest", "drop-oldest" and "DropOldest" all name OverflowPolicy.DropOldest;
    // null when `value` names none. Enum.TryParse is not used: it would also take "1" or "Wait,Fail".
    internal static TEnum? ParseChoice<TEnum>(string value)
        where TEnum : struct, Enum
    {
        var name = value.Trim().Replace("_", string.Empty, StringComparison.Ordinal).Replace("-", string.Empty, StringComparison.Ordinal);
        foreach (var choice in Enum.GetValues<TEnum>())
        {
            if (choice.ToString().Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return choice;
            }
        }

        return null;
    }

    private static string? Read(Func<string, string?> lookup, string variable)
    {
        var value = lookup(variable);
        return string.IsNullOrWhiteSpace(value) ? null : value;
    }

    // Reads one variable at a time; a value that cannot be used throws, naming the variable as `nameOf` says.
    private readonly record struct VariableReader(Func<string, string?> Lookup, Func<string, string> NameOf)
    {
        public bool? Boolean(string variable)
        {
            if (Read(Lookup, variable) is not { } value)
            {
                return null;
            }

            return value.Trim().ToUpperInvariant() switch
            {
                "TRUE" or "1" or "YES" => true,
                "FALSE" or "0" or "NO" => false,
                _ => throw new PostgresConfigurationException(
                    variable, $"{NameOf(variable)} must be true or false (1/0 and yes/no also work), but is '{value}'."),
            };
        }

        public int? Count(string variable, int example, bool allowZero = false)
        {
            if (Read(Lookup, variable) is not { } value)
            {
                return null;
            }

            // NumberStyles.None: digits only — no sign, decimal point, thousands separator or exponent.
            if (int.TryParse(value.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var number) && (number > 0 || allowZero))
            {
                return number;
            }

            var expected = allowZero ? $"a whole number from 0 up (e.g. {example})" : $"a positive whole number (e.g. {example})";
            throw new PostgresConfigurationException(variable, $"{NameOf(variable)} must be {expected}, but is '{value}'.");
        }

        public TimeSpan? Milliseconds(string variable, int example)
        {
            if (Read(Lookup, variable) is not { } value)
            {
                return null;
            }

            const long MaxMilliseconds = long.MaxValue / TimeSpan.TicksPerMillisecond;
            if (long.TryParse(value.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var milliseconds)
                && milliseconds is > 0 and <= MaxMilliseconds)
            {
                return TimeSpan.FromMilliseconds(milliseconds);
            }

            throw new PostgresConfigurationException(
                variable,
                $"{NameOf(variable)} must be a positive whole number of milliseconds (e.g. {example}), but is '{value}'.");
        }

        public OverflowPolicy? Overflow()
        {
            if (Read(Lookup, OverflowVariable) is not { } value)
            {
                return null;
            }

            return ParseOverflow(value) ?? throw new PostgresConfigurationException(
                OverflowVariable, $"{NameOf(OverflowVariable)} must be {OverflowChoices}, but is '{value}'.");
        }

        public TEnum? Choice<TEnum>(string variable, string choices)
            where TEnum : struct, Enum
        {
            if (Read(Lookup, variable) is not { } value)
            {
                return null;
            }

            return ParseChoice<TEnum>(value) ?? throw new PostgresConfigurationException(
                variable, $"{NameOf(variable)} must be {choices}, but is '{value}'.");
        }

        public string[]? Topics()
        {
            if (Read(Lookup, TopicsVariable) is not { } value)
            {
                return null;
            }

            var topics = value.Split(TopicSeparator, StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            if (topics.Length == 0)
            {
                throw new PostgresConfigurationException(
                    TopicsVariable,
                    $"{NameOf(TopicsVariable)} must hold at least one topic regex, separated by ';' (e.g. '.*' or 'user_.*;order_.*'), but is '{value}'.");
            }

            // Checked as read, so that a bad value fails even while EB_PG_ENABLED=false; Validate() checks it again.
            foreach (var topic in topics)
            {
                if (RegexProblem(topic) is { } error)
                {
                    throw new PostgresConfigurationException(
                        TopicsVariable,
                        $"{NameOf(TopicsVariable)} must hold regexes separated by ';' (e.g. 'user_.*;order_.*'), but '{topic}' is not one: {error}");
                }
            }

            return topics;
        }

        public string? Identifier(string variable)
        {
            if (Read(Lookup, variable) is not { } value)
            {
                return null;
            }

            var name = value.Trim();
            var what = $"{(variable == SchemaVariable ? nameof(Schema) : nameof(Table))} ({NameOf(variable)})";
            var problem = variable == SchemaVariable ? EventTable.SchemaProblem(name, what) : EventTable.TableProblem(name, what);
            return problem is null ? name : throw new PostgresConfigurationException(variable, problem);
        }

        public string? ConnectionString() =>
            Read(Lookup, DatabaseUrlVariable) is { } value ? ConnectionStringFrom(value, DatabaseUrlVariable, NameOf(DatabaseUrlVariable)) : null;
    }
}
