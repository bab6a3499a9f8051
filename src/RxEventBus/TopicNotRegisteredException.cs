namespace RxEventBus;

/// <summary>
/// Thrown when a topic is used that the bus does not know, and the bus does not register topics on first use.
/// </summary>
public sealed class TopicNotRegisteredException : InvalidOperationException
{
    /// <summary>Creates the exception for <paramref name="topic"/>.</summary>
    public TopicNotRegisteredException(string topic)
        : base($"Topic '{topic}' is not registered. Register it first with EventBus.RegisterTopic(\"{topic}\"), " +
               "list it in EventBusOptions.Topics, or build the bus with EventBusOptions.AutoRegisterTopics = true.")
    {
        Topic = topic;
    }

    /// <summary>Creates the exception with no topic (for serializers and tooling).</summary>
    public TopicNotRegisteredException()
        : base("The topic is not registered.")
    {
        Topic = string.Empty;
    }

    /// <summary>Creates the exception with a message of your own.</summary>
    public TopicNotRegisteredException(string message, Exception innerException)
        : base(message, innerException)
    {
        Topic = string.Empty;
    }

    /// <summary>The topic that is not registered.</summary>
    public string Topic { get; }
}
