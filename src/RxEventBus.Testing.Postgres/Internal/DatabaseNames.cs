using System.Security.Cryptography;

namespace RxEventBus.Testing.Postgres.Internal;

internal static class DatabaseNames
{
    private const string RandomAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";

    // Only [a-z0-9_], starting with a letter, at most 40 + 9 characters (PostgreSQL cuts names at 63 bytes): the
    // name never needs quoting in SQL, in a connection string or in a search path, and the random part makes
    // it unique across test classes, parallel test processes and earlier runs against the same server.
    public static string Unique(string prefix)
    {
        var readable = new string([.. prefix.ToLowerInvariant().Where(static c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '_').Take(40)]);
        if (readable.Length == 0 || !char.IsAsciiLetterLower(readable[0]))
        {
            readable = "t" + readable;
        }

        return $"{readable}_{RandomNumberGenerator.GetString(RandomAlphabet, 8)}";
    }
}
