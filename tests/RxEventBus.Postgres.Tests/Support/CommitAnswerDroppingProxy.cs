using System.Net;
using System.Net.Sockets;
using System.Text;

namespace RxEventBus.Postgres.Tests.Support;

// A TCP proxy in front of PostgreSQL that makes commits ambiguous: while armed, when the client sends a
// COMMIT it is passed on, the server's answer is swallowed, and the connection is cut. The server has
// committed; the client only knows its connection broke.
internal sealed class CommitAnswerDroppingProxy : IAsyncDisposable
{
    // The whole simple-query message Npgsql sends to commit: 'Q', its length (4 + 7), "COMMIT" and the string's
    // NUL. Matching the word alone would also match the BEGIN Npgsql sends ("… ISOLATION LEVEL READ COMMITTED")
    // and cut every transaction at its start, where nothing is ambiguous.
    private static readonly byte[] Commit = [(byte)'Q', 0, 0, 0, 11, .. Encoding.ASCII.GetBytes("COMMIT"), 0];
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly string _serverHost;
    private readonly int _serverPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private int _armed;
    private int _dropped;

    public CommitAnswerDroppingProxy(string serverHost, int serverPort, int commitsToDrop = 0)
    {
        _serverHost = serverHost;
        _serverPort = serverPort;
        _armed = commitsToDrop;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    // Makes the next `commits` commits ambiguous: armed after a consumer's start, so that its own check of the
    // table (a transaction too) does not use them up.
    public void Arm(int commits) => Volatile.Write(ref _armed, commits);

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public int Dropped => Volatile.Read(ref _dropped);

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            _ = RelayAsync(client);
        }
    }

    private async Task RelayAsync(TcpClient client)
    {
        using var _ = client;
        using var server = new TcpClient();
        await server.ConnectAsync(_serverHost, _serverPort);
        var commitSent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var toServer = PumpAsync(client.GetStream(), server.GetStream(), chunk =>
        {
            if (chunk.AsSpan().IndexOf(Commit) >= 0 && Interlocked.Decrement(ref _armed) >= 0)
            {
                commitSent.TrySetResult();
            }
        });
        var toClient = PumpAsync(server.GetStream(), client.GetStream(), _ => { }, commitSent.Task);
        await Task.WhenAny(toServer, toClient);
        client.Close();
        server.Close();
    }

    // Copies one direction. With `cutAfter`, the first chunk read once it completed (the server's answer
    // to the COMMIT) is dropped and the relay ends.
    private async Task PumpAsync(NetworkStream from, NetworkStream to, Action<byte[]> inspect, Task? cutAfter = null)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReadAsync(buffer, _stop.Token);
                if (read == 0)
                {
                    return;
                }

                if (cutAfter is { IsCompleted: true })
                {
                    Interlocked.Increment(ref _dropped);
                    return;
                }

                var chunk = buffer[..read];
                inspect(chunk);
                await to.WriteAsync(chunk, _stop.Token);
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        _stop.Dispose();
    }
}
