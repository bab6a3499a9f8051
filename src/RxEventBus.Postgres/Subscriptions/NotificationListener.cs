using Microsoft.Extensions.Logging;
using Npgsql;
using RxEventBus.Postgres.Internal;

namespace RxEventBus.Postgres.Subscriptions;

// LISTENs on the table's channel on a connection of its own and calls `wake` for each notification — one per
// batch the writer committed. When the connection fails it reconnects with backoff; meanwhile, and for rows
// written by programs that do not notify, the subscription's polling finds the rows, only later. `wake` is
// also called each time listening (re)starts, because a notification sent while nobody listened is gone.
internal sealed class NotificationListener : IDisposable
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly string _channel;
    private readonly Action _wake;
    private readonly RetryPolicy _retry;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();

    private NotificationListener(NpgsqlDataSource dataSource, string channel, Action wake, RetryPolicy retry, ILogger logger)
    {
        _dataSource = dataSource;
        _channel = channel;
        _wake = wake;
        _retry = retry;
        _logger = logger;
    }

    internal static NotificationListener Start(NpgsqlDataSource dataSource, string channel, Action wake, RetryPolicy retry, ILogger logger)
    {
        var listener = new NotificationListener(dataSource, channel, wake, retry, logger);
        _ = Task.Run(listener.RunAsync);
        return listener;
    }

    public void Dispose() => _stopping.Cancel();

    private static async Task UnlistenAsync(NpgsqlConnection connection)
    {
        if (connection.State != System.Data.ConnectionState.Open)
        {
            return;
        }

        try
        {
            var unlisten = new NpgsqlCommand("UNLISTEN *", connection);
            await using (unlisten.ConfigureAwait(false))
            {
                await unlisten.ExecuteNonQueryAsync().ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
        {
            // Broken or still busy after the cancelled wait: closing it below ends the session if it is broken.
        }
    }

    private async Task RunAsync()
    {
        var token = _stopping.Token;
        Backoff? backoff = null;
        while (!token.IsCancellationRequested)
        {
            try
            {
                var connection = await _dataSource.OpenConnectionAsync(token).ConfigureAwait(false);
                await using (connection.ConfigureAwait(false))
                {
                    connection.Notification += (_, _) => _wake();
                    var listen = new NpgsqlCommand($"LISTEN \"{_channel}\"", connection);
                    await using (listen.ConfigureAwait(false))
                    {
                        await listen.ExecuteNonQueryAsync(token).ConfigureAwait(false);
                    }

                    if (backoff is not null)
                    {
                        Log.ListenerResumed(_logger, _channel);
                    }

                    backoff = null;
                    _wake();
                    try
                    {
                        while (true)
                        {
                            await connection.WaitAsync(token).ConfigureAwait(false);
                        }
                    }
                    finally
                    {
                        // Pooled connections are reset (UNLISTEN included) only when next handed out; until
                        // then an idle connection would go on receiving every notification.
                        await UnlistenAsync(connection).ConfigureAwait(false);
                    }
                }
            }
            catch (Exception) when (token.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // The listener only speeds delivery up: polling keeps the subscription going, so it must never stop.
            catch (Exception e)
#pragma warning restore CA1031
            {
                backoff ??= _retry.Start();
                Log.ListenerFailed(_logger, e, _channel, backoff.NextDelay.TotalMilliseconds);
                _wake();
                try
                {
                    await backoff.WaitAsync(token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }
}
