namespace RxEventBus.Postgres;

/// <summary>
/// Thrown at start when an <c>EB_PG_*</c> setting has a value the persistence consumer cannot use. The message
/// names the variable, the value expected and the value found — except a connection string's password, which
/// never appears in the message, in <see cref="Exception.ToString"/> or in an inner exception.
/// </summary>
public sealed class PostgresConfigurationException : ArgumentException
{
    /// <summary>Creates the exception for <paramref name="variable"/> with a message saying what it expects.</summary>
    /// <param name="variable">The setting at fault, e.g. <c>EB_PG_POOL_SIZE</c>.</param>
    /// <param name="message">What the setting must be and what it is.</param>
    public PostgresConfigurationException(string variable, string message)
        : base(message)
    {
        Variable = variable;
    }

    /// <summary>Creates the exception for <paramref name="variable"/>, keeping the failure that revealed it.</summary>
    /// <param name="variable">The setting at fault, e.g. <c>EB_PG_SCHEMA</c>.</param>
    /// <param name="message">What the setting must be and what it is.</param>
    /// <param name="innerException">The failure behind it; never one whose message could hold a password.</param>
    public PostgresConfigurationException(string variable, string message, Exception? innerException)
        : base(message, innerException)
    {
        Variable = variable;
    }

    /// <summary>Creates the exception with no variable (for serializers and tooling).</summary>
    public PostgresConfigurationException()
        : base("The PostgreSQL persistence configuration is not valid.")
    {
        Variable = string.Empty;
    }

    /// <summary>Creates the exception with a message of your own and no variable.</summary>
    public PostgresConfigurationException(string message)
        : base(message)
    {
        Variable = string.Empty;
    }

    /// <summary>Creates the exception with a message of your own, no variable, and the failure behind it.</summary>
    public PostgresConfigurationException(string message, Exception innerException)
        : base(message, innerException)
    {
        Variable = string.Empty;
    }

    /// <summary>The setting at fault, e.g. <c>EB_PG_POOL_SIZE</c>; empty when none is known.</summary>
    public string Variable { get; }

    /// <summary>The setting at fault, as <see cref="Variable"/>, or <see langword="null"/> when none is known.</summary>
    // Overridden rather than passed to the base constructor: the base would append "(Parameter '…')" to a
    // message that already starts with the variable's name.
    public override string? ParamName => Variable.Length == 0 ? null : Variable;
}
