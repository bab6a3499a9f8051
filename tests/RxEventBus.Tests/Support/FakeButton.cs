namespace RxEventBus.Tests.Support;

/// <summary>The shape of a desktop button, enough to bridge its Click with <c>Observable.FromEventPattern</c>.</summary>
public sealed class FakeButton
{
    public event EventHandler<ClickEventArgs>? Click;

    /// <summary>Whether anything still listens to <see cref="Click"/> (a detached bridge must not).</summary>
    public bool HasClickHandlers => Click is not null;

    public void PerformClick(int x, int y) => Click?.Invoke(this, new ClickEventArgs(x, y));
}

public sealed class ClickEventArgs(int x, int y) : EventArgs
{
    public int X { get; } = x;

    public int Y { get; } = y;
}
