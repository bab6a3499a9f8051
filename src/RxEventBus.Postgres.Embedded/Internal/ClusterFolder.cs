using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace RxEventBus.Postgres.Embedded.Internal;

/// <summary>The throwaway cluster's folder on disk: making it, configuring it, reading its log, removing it.</summary>
internal static class ClusterFolder
{
    private const string NameAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";

    /// <summary>Makes a new, empty <c>rxeb-XXXXXX</c> folder under <paramref name="parent"/>.</summary>
    public static string Create(string parent)
    {
        var fullParent = Path.GetFullPath(parent);
        if (!Directory.Exists(fullParent))
        {
            throw new EmbeddedPostgresException($"The folder for throwaway clusters, {fullParent}, does not exist.");
        }

        // Two launchers picking the same six random characters at once is the only way to share a folder;
        // checking first narrows even that.
        for (var attempt = 0; attempt < 20; attempt++)
        {
            var candidate = Path.Combine(fullParent, "rxeb-" + RandomNumberGenerator.GetString(NameAlphabet, 6));
            if (!Directory.Exists(candidate) && !File.Exists(candidate))
            {
                Directory.CreateDirectory(candidate);
                return candidate;
            }
        }

        throw new EmbeddedPostgresException($"Could not make a new rxeb-XXXXXX folder in {fullParent}.");
    }

    /// <summary>A loopback port free right now. Another process may take it before the server binds it.</summary>
    public static int FreeLoopbackPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        finally
        {
            listener.Stop();
        }
    }

    /// <summary>
    /// Appends settings to <c>postgresql.conf</c>. A later line wins over an earlier one, so appending is also
    /// how a setting is changed. Living in the file (not on pg_ctl's command line) lets a kept cluster be
    /// restarted by hand with a plain <c>pg_ctl -D data start</c> on the same port and socket.
    /// </summary>
    public static void AppendSettings(string dataDirectory, string comment, IEnumerable<KeyValuePair<string, string>> settings)
    {
        var text = new StringBuilder().Append("\n# ").Append(comment).Append('\n');
        foreach (var (name, value) in settings)
        {
            text.Append(name).Append(" = '").Append(value.Replace("'", "''", StringComparison.Ordinal)).Append("'\n");
        }

        // Appending keeps the file's owner, which is the server's OS user when running as root.
        File.AppendAllText(Path.Combine(dataDirectory, "postgresql.conf"), text.ToString());
    }

    /// <summary>The file's size now, to read only what is written after it.</summary>
    public static long Length(string path) => File.Exists(path) ? new FileInfo(path).Length : 0;

    /// <summary>The last <paramref name="maxLines"/> lines written at or after byte <paramref name="from"/>.</summary>
    public static string ReadTail(string path, int maxLines, long from = 0)
    {
        const int MaxBytes = 64 * 1024;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var start = Math.Max(from, stream.Length - MaxBytes);
            if (start >= stream.Length)
            {
                return "";
            }

            stream.Seek(start, SeekOrigin.Begin);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            var lines = reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            return string.Join('\n', lines.TakeLast(maxLines));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return "";
        }
    }

    public static void Delete(string path)
    {
        try
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new EmbeddedPostgresException($"Could not remove the throwaway cluster's folder {path}: {e.Message}", e);
        }
    }
}
