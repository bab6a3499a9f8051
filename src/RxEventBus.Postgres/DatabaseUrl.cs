using System.Data.Common;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Npgsql;

namespace RxEventBus.Postgres;

/// <summary>
/// Reads the two forms <c>EB_PG_DATABASE_URL</c> comes in — a libpq URL
/// (<c>postgres://user:password@host:port/database?sslmode=require</c>) or an Npgsql connection string
/// (<c>Host=…;Username=…;Password=…;Database=…</c>) — and prints either without its password.
/// </summary>
/// <remarks>
/// Every exception thrown from here is an <see cref="ArgumentException"/> whose message, and whose inner
/// exceptions, hold no password: Npgsql's own errors can echo the value they could not read, so they are
/// replaced, never wrapped.
/// </remarks>
public static partial class DatabaseUrl
{
    private const string Masked = "***";
    private const string Unreadable = "(unreadable connection string)";
    private const int DefaultPort = 5432;
    private const string Forms =
        "expected postgres://user:password@host:port/database (or postgresql://…) or an Npgsql connection string " +
        "such as Host=localhost;Username=app;Password=…;Database=events";

    // libpq URL query parameters and the Npgsql keyword each one becomes. Values go through unchanged unless
    // _valueMaps has a translation for the parameter.
    private static readonly Dictionary<string, string> _libpqKeywords = new(StringComparer.OrdinalIgnoreCase)
    {
        ["host"] = "Host",
        ["port"] = "Port",
        ["user"] = "Username",
        ["password"] = "Password",
        ["dbname"] = "Database",
        ["sslmode"] = "SSL Mode",
        ["sslnegotiation"] = "SSL Negotiation",
        ["sslcert"] = "SSL Certificate",
        ["sslkey"] = "SSL Key",
        ["sslrootcert"] = "Root Certificate",
        ["sslpassword"] = "SSL Password",
        ["application_name"] = "Application Name",
        ["connect_timeout"] = "Timeout",
        ["options"] = "Options",
        ["target_session_attrs"] = "Target Session Attributes",
        ["load_balance_hosts"] = "Load Balance Hosts",
        ["keepalives"] = "Tcp Keepalive",
        ["keepalives_idle"] = "Tcp Keepalive Time",
        ["keepalives_interval"] = "Tcp Keepalive Interval",
        ["channel_binding"] = "Channel Binding",
        ["gssencmode"] = "GSS Encryption Mode",
        ["client_encoding"] = "Client Encoding",
        ["krbsrvname"] = "Kerberos Service Name",
        ["passfile"] = "Passfile",
    };

    // libpq spellings of values whose Npgsql spelling differs; a value not listed is refused, so a typo is
    // reported with the accepted values instead of Npgsql's generic "couldn't set".
    private static readonly Dictionary<string, Dictionary<string, string>> _valueMaps = new(StringComparer.OrdinalIgnoreCase)
    {
        ["sslmode"] = new(StringComparer.OrdinalIgnoreCase)
        {
            ["disable"] = "Disable",
            ["allow"] = "Allow",
            ["prefer"] = "Prefer",
            ["require"] = "Require",
            ["verify-ca"] = "VerifyCA",
            ["verify-full"] = "VerifyFull",
        },
        ["keepalives"] = new(StringComparer.OrdinalIgnoreCase) { ["1"] = "true", ["0"] = "false" },
        ["load_balance_hosts"] = new(StringComparer.OrdinalIgnoreCase) { ["random"] = "true", ["disable"] = "false" },
    };

    // Keywords (with Npgsql's synonyms) whose values are secrets: never echoed, always masked.
    private static readonly HashSet<string> _secretKeywords = new(StringComparer.OrdinalIgnoreCase)
    {
        "password", "pwd", "psw", "ssl password", "sslpassword",
    };

    /// <summary>
    /// Turns <paramref name="value"/> into an Npgsql connection string. A <c>postgres://</c> or
    /// <c>postgresql://</c> URL is translated (user and password percent-decoded, port 5432 when absent, libpq
    /// query parameters such as <c>sslmode=require</c> mapped to their Npgsql keywords, any Npgsql keyword
    /// accepted as a parameter too); any other text must be an Npgsql connection string with a <c>Host</c>, and
    /// is returned unchanged once Npgsql accepts every keyword and value in it.
    /// </summary>
    /// <param name="value">The URL or connection string, e.g. the value of <c>EB_PG_DATABASE_URL</c>.</param>
    /// <returns>An Npgsql connection string, password included.</returns>
    /// <exception cref="ArgumentException">
    /// The value is neither form, or names something Npgsql does not know; the message says what is wrong
    /// and never contains the password.
    /// </exception>
    public static string ToConnectionString(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var text = value.Trim();
        if (text.Length == 0)
        {
            throw new ArgumentException($"The connection string is empty; {Forms}.");
        }

        var scheme = Scheme().Match(text);
        if (!scheme.Success)
        {
            return FromKeywords(text);
        }

        var name = scheme.Groups["scheme"].Value;
        if (!name.Equals("postgres", StringComparison.OrdinalIgnoreCase) && !name.Equals("postgresql", StringComparison.OrdinalIgnoreCase))
        {
            throw Failure(text, $"its scheme '{name}://' is not supported; {Forms}");
        }

        return FromUrl(text, text[scheme.Length..]);
    }

    /// <summary>
    /// A printable form of <paramref name="connectionStringOrUrl"/> for logs and command-line output: the
    /// same text with every password (the URL's, a <c>password=</c> parameter, <c>Password</c>,
    /// <c>SSL Password</c>) replaced by <c>***</c>. Never throws on malformed input: what cannot be read well
    /// enough to find its password is not printed at all.
    /// </summary>
    /// <param name="connectionStringOrUrl">A URL or an Npgsql connection string, valid or not.</param>
    /// <returns>The text without its passwords.</returns>
    public static string Redact(string connectionStringOrUrl)
    {
        ArgumentNullException.ThrowIfNull(connectionStringOrUrl);
        var text = connectionStringOrUrl.Trim();
        if (text.Length == 0)
        {
            return string.Empty;
        }

        return Scrub(Scheme().IsMatch(text) ? text : Normalized(text), SecretsIn(text));
    }

    private static string FromUrl(string url, string rest)
    {
        if (rest.Contains('#', StringComparison.Ordinal))
        {
            throw Failure(url, "it has a '#'; percent-encode '#' in a user name or password as %23");
        }

        var (beforeQuery, query) = Cut(rest, '?');
        var (authority, path) = Cut(beforeQuery, '/');

        // The last '@' ends the user info, as in libpq, so a raw '@' in a password still works; an '@' after the
        // host means the password held a raw '/' or '?' that cut the URL short.
        if ($"{path}{query}".Contains('@', StringComparison.Ordinal))
        {
            throw Failure(url, "it has an '@' after the host; percent-encode '@', '/', '?' and ':' in a user name or password (%40, %2F, %3F, %3A)");
        }

        var at = authority.LastIndexOf('@');
        var (user, password) = at < 0 ? (string.Empty, null) : Cut(authority[..at], ':');
        user = Decode(url, user, "the user name");
        password = Decode(url, password ?? string.Empty, "the password");
        var (host, port) = ReadHostAndPort(url, authority[(at + 1)..]);
        if (path?.Contains('/', StringComparison.Ordinal) == true)
        {
            throw Failure(url, "its path must be one database name (/database); percent-encode '/' in a name as %2F");
        }

        var database = Decode(url, path ?? string.Empty, "the database name");
        var parameters = (query ?? string.Empty).Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => ReadParameter(url, p)).ToList();
        var portParameter = parameters.Any(p => p.Keyword.Equals("Port", StringComparison.OrdinalIgnoreCase));
        port ??= portParameter ? string.Empty : DefaultPort.ToString(CultureInfo.InvariantCulture);

        // Written in the order people read a connection string in: where, who, what, then the extras.
        var builder = new Settings(url);
        (string Keyword, string Value, string Shown)[] fromTheUrl =
        [
            ("Host", host, "the host"), ("Port", port, "the port"), ("Username", user, "the user name"),
            ("Password", password, "the password"), ("Database", database, "the database name"),
        ];
        foreach (var (keyword, value, shown) in fromTheUrl.Where(s => s.Value.Length > 0).Concat(parameters))
        {
            builder.Set(keyword, value, shown);
        }

        if (!builder.HasHost)
        {
            throw Failure(url, "it has no host; give one (postgres://user@localhost/database) or a socket directory (?host=/var/run/postgresql)");
        }

        return builder.ConnectionString;
    }

    // "host:port" or "[IPv6]:port", the host percent-decoded (%2Ftmp%2Fpg is a socket directory) and judged by
    // System.Uri; each check names one way the authority can be wrong, because Uri alone only says it is.
    private static (string Host, string? Port) ReadHostAndPort(string url, string hostAndPort)
    {
        var bracketed = hostAndPort.StartsWith('[');
        var close = bracketed ? hostAndPort.IndexOf(']', StringComparison.Ordinal) : -1;
        var (host, port) = Cut(hostAndPort, ':', close + 1);
        var name = Decode(url, close > 0 ? hostAndPort[1..close] : host, "the host");
        var problem = hostAndPort switch
        {
            _ when hostAndPort.Contains(',', StringComparison.Ordinal) => "it lists several hosts; write them in the Npgsql form instead (Host=db1,db2;…)",
            ['[', ..] when close < 0 => "its IPv6 host has no closing ']' (e.g. postgres://user@[::1]:5432/database)",
            ['[', ..] when Uri.CheckHostName(name) != UriHostNameType.IPv6 => "what is inside [ ] is not an IPv6 address (e.g. [::1] or [2001:db8::5])",
            ['[', ..] when host.Length != close + 1 => "only ':port' may follow an IPv6 host's ']'",
            _ when !bracketed && port?.Contains(':', StringComparison.Ordinal) == true => "an IPv6 host must be written in brackets (e.g. postgres://user@[::1]:5432/database)",
            _ => null,
        };
        if (problem is not null)
        {
            throw Failure(url, problem);
        }

        return (bracketed ? name : CheckHostName(url, name), port is null ? null : CheckPort(url, port));
    }

    private static (string Keyword, string Value, string Shown) ReadParameter(string url, string parameter)
    {
        var (rawName, rawValue) = Cut(parameter, '=');
        if (rawName.Length == 0 || rawValue is null)
        {
            throw Failure(url, "its query has a part that is not name=value (e.g. ?sslmode=require&application_name=events)");
        }

        var name = Decode(url, rawName, "a query parameter name");
        var value = Decode(url, rawValue, "a query parameter value");
        var shownName = Printable(name) ? $"'{name}'" : "a query parameter";
        var keyword = _libpqKeywords.TryGetValue(name, out var mapped) ? mapped
            : KnownToNpgsql(name) ? name
            : throw Failure(url, $"{shownName} is neither a libpq parameter Npgsql supports ({string.Join(", ", _libpqKeywords.Keys)}) nor an Npgsql keyword");
        if (_valueMaps.TryGetValue(name, out var values))
        {
            var shownValue = _secretKeywords.Contains(name) || !Printable(value) ? string.Empty : $", but is '{value}'";
            value = values.TryGetValue(value, out var translated) ? translated
                : throw Failure(url, $"{shownName} must be one of {string.Join(", ", values.Keys)}{shownValue}");
        }

        value = keyword.ToUpperInvariant() switch
        {
            "HOST" => CheckHostName(url, value),
            "PORT" => CheckPort(url, value),
            _ => value,
        };
        return (keyword, value, shownName);
    }

    private static string CheckHostName(string url, string host)
    {
        // A host is a name or an IPv4 address as System.Uri reads them, or (from ?host= or %2F-encoded) a Unix
        // socket directory.
        if (host.Length > 0 && host[0] != '/' && Uri.CheckHostName(host) is not (UriHostNameType.Dns or UriHostNameType.IPv4))
        {
            throw Failure(url, "its host is not a host name, an IP address or a socket directory");
        }

        return host;
    }

    private static string CheckPort(string url, string port)
    {
        if (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number is < 1 or > 65535)
        {
            throw Failure(url, "its port must be a whole number from 1 to 65535 (5432 when left out)");
        }

        return number.ToString(CultureInfo.InvariantCulture);
    }

    // The text before the first separator at or after from, and the text after it (null when there is none).
    private static (string Before, string? After) Cut(string text, char separator, int from = 0)
    {
        var at = text.IndexOf(separator, from);
        return at < 0 ? (text, null) : (text[..at], text[(at + 1)..]);
    }

    private static string FromKeywords(string connectionString)
    {
        var parsed = new DbConnectionStringBuilder();
        try
        {
            parsed.ConnectionString = connectionString;
        }
        catch (ArgumentException e)
        {
            // The framework's message gives only the position ("…starting at index 7"), but it is rebuilt here
            // anyway so that no future wording can carry the text around that position.
            var index = FormatIndex().Match(e.Message);
            var where = index.Success ? $" from character {index.Groups["index"].Value} on" : string.Empty;
            throw Failure(connectionString, $"it is not a postgres:// URL, and{where} it does not read as Key=Value pairs separated by ';'; {Forms}");
        }

        var builder = new Settings(connectionString);
        foreach (string keyword in parsed.Keys)
        {
            var shown = Printable(keyword) ? $"'{keyword}'" : "a keyword";
            if (!KnownToNpgsql(keyword))
            {
                throw Failure(connectionString, $"{shown} is not an Npgsql connection string keyword (see https://www.npgsql.org/doc/connection-string-parameters.html)");
            }

            builder.Set(keyword, Convert.ToString(parsed[keyword], CultureInfo.InvariantCulture) ?? string.Empty, shown);
        }

        if (!builder.HasHost)
        {
            throw Failure(connectionString, "it has no Host (e.g. Host=localhost, or Host=/var/run/postgresql for a Unix socket)");
        }

        return connectionString;
    }

    private static bool KnownToNpgsql(string keyword)
    {
        try
        {
            return new NpgsqlConnectionStringBuilder().ContainsKey(keyword);
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static string Decode(string url, string text, string what)
    {
        if (MalformedEscape().IsMatch(text))
        {
            throw Failure(url, $"{what} has a '%' that is not followed by two hex digits; write '%' itself as %25");
        }

        return Uri.UnescapeDataString(text);
    }

    private static bool Printable(string text) => text.Length <= 64 && PrintableText().IsMatch(text);

    // Every failure goes through here: the message gets the redacted input for context, and goes through the same
    // Scrub, so no value quoted in the reason can be one of the input's secrets either.
    private static ArgumentException Failure(string input, string reason)
    {
        var printable = Redact(input);
        var message = printable == Unreadable
            ? $"The connection string cannot be used: {reason}."
            : $"The connection string {printable} cannot be used: {reason}.";
        return new ArgumentException(Scrub(message, SecretsIn(input)));
    }

    // A connection string as Npgsql writes it (one spelling per keyword: PWD becomes Password), or as the user wrote
    // it when Npgsql refuses a keyword or value but the text is still Key=Value pairs; passwords still in it.
    private static string Normalized(string connectionString)
    {
        try
        {
            var builder = new NpgsqlConnectionStringBuilder(connectionString);
            // Masked here as well as by Scrub: however Npgsql writes a password back, it writes ours.
            if (!string.IsNullOrEmpty(builder.Password))
            {
                builder.Password = Masked;
            }

            if (!string.IsNullOrEmpty(builder.SslPassword))
            {
                builder.SslPassword = Masked;
            }

            return builder.ConnectionString;
        }
        catch (ArgumentException)
        {
            // Npgsql refuses an unknown keyword or value; the text may still be well formed.
        }

        try
        {
            _ = new DbConnectionStringBuilder { ConnectionString = connectionString };
            return connectionString;
        }
        catch (ArgumentException)
        {
            // Text that does not parse has no reliable place for its password, so none of it is printed.
            return Unreadable;
        }
    }

    // The secrets an input may hold, found the same way whether or not it is valid: the URL's user info after
    // its first ':', secret query parameters, secret keywords. Both the raw and the percent-decoded forms count.
    private static List<string> SecretsIn(string input)
    {
        var secrets = new List<string>();
        if (Scheme().Match(input) is { Success: true } scheme)
        {
            var rest = input[scheme.Length..];
            var at = rest.LastIndexOf('@');
            if (at >= 0)
            {
                var colon = rest.IndexOf(':', StringComparison.Ordinal);
                if (colon >= 0 && colon < at)
                {
                    Add(rest[(colon + 1)..at]);
                }
            }

            foreach (Match match in SecretQueryParameter().Matches(rest))
            {
                Add(match.Groups["value"].Value);
            }
        }
        else
        {
            try
            {
                var generic = new DbConnectionStringBuilder { ConnectionString = input };
                foreach (var keyword in generic.Keys.Cast<string>().Where(_secretKeywords.Contains))
                {
                    var value = Convert.ToString(generic[keyword], CultureInfo.InvariantCulture) ?? string.Empty;
                    Add(value);
                    // As a connection string writes it back when it holds a quote or a separator: quoted, the
                    // quote character doubled inside. Longest first, these go before the bare value.
                    Add('"' + value.Replace("\"", "\"\"", StringComparison.Ordinal) + '"');
                    Add('\'' + value.Replace("'", "''", StringComparison.Ordinal) + '\'');
                }
            }
            catch (ArgumentException)
            {
                foreach (Match match in SecretKeyword().Matches(input))
                {
                    var value = match.Groups["value"].Value.Trim();
                    Add(value);
                    if (value.Length >= 2 && (value[0] == '"' || value[0] == '\'') && value[^1] == value[0])
                    {
                        Add(value[1..^1]);
                    }
                }
            }
        }

        return secrets;

        void Add(string secret)
        {
            if (secret.Length > 0)
            {
                secrets.Add(secret);
                secrets.Add(Uri.UnescapeDataString(secret));
            }
        }
    }

    // The one place passwords are masked: every occurrence of every secret SecretsIn found, longest first, raw and
    // percent-decoded. Redact and every error message go through it.
    private static string Scrub(string text, List<string> secrets)
    {
        foreach (var secret in secrets.Where(s => s.Length > 0).OrderByDescending(s => s.Length))
        {
            text = text.Replace(secret, Masked, StringComparison.Ordinal);
        }

        return text;
    }

    [GeneratedRegex(@"^(?<scheme>[A-Za-z][A-Za-z0-9+.\-]*)://", RegexOptions.CultureInvariant)]
    private static partial Regex Scheme();

    [GeneratedRegex(@"%(?![0-9A-Fa-f]{2})", RegexOptions.CultureInvariant)]
    private static partial Regex MalformedEscape();

    [GeneratedRegex(@"^[A-Za-z0-9 _.\-/:]*$", RegexOptions.CultureInvariant)]
    private static partial Regex PrintableText();

    [GeneratedRegex(@"index (?<index>\d+)", RegexOptions.CultureInvariant)]
    private static partial Regex FormatIndex();

    [GeneratedRegex(@"(?<name>(?:^|[?&])(?:password|pwd|psw|sslpassword|ssl(?:%20|\+| )password)=)(?<value>[^&#]*)", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex SecretQueryParameter();

    [GeneratedRegex(@"(?:^|;)\s*(?:password|pwd|psw|sslpassword|ssl\s+password)\s*=\s*(?<value>""(?:[^""]|"""")*""|'(?:[^']|'')*'|[^;]*)", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex SecretKeyword();

    // The Npgsql connection string being built, refusing a keyword given twice (under any of its synonyms)
    // and replacing Npgsql's errors, which may quote the value, by ones that quote only values known not to
    // be secret.
    private sealed class Settings(string input)
    {
        private readonly NpgsqlConnectionStringBuilder _builder = new();

        public string ConnectionString => _builder.ConnectionString;

        public bool HasHost => !string.IsNullOrWhiteSpace(_builder.Host);

        public void Set(string keyword, string value, string shown)
        {
            var count = _builder.Count;
            try
            {
                _builder[keyword] = value;
            }
            catch (Exception e) when (e is ArgumentException or FormatException or InvalidCastException or OverflowException)
            {
                var shownValue = _secretKeywords.Contains(keyword) || !Printable(value) ? string.Empty : $" '{value}'";
                throw Failure(input, $"Npgsql does not accept the value{shownValue} of {shown}");
            }

            // Npgsql keeps one entry per keyword under its own name ("pwd" and "Password" are one entry), so an
            // entry count that did not grow means this keyword was already set.
            if (_builder.Count == count && value.Length > 0)
            {
                var canonical = new NpgsqlConnectionStringBuilder { [keyword] = value }.Keys.Cast<string>().Single();
                throw Failure(input, $"{shown} sets {canonical}, which is already set");
            }
        }
    }
}
