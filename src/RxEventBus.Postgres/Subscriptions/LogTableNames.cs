namespace RxEventBus.Postgres.Subscriptions;

// Names the log shares with the writer and the schema.
internal static class LogTableNames
{
    // PostgreSQL refuses a channel name of 64 bytes or more; names are ASCII identifiers. Two tables whose
    // names share their first 63 characters share a channel, which costs only a wake-up that finds nothing.
    internal static string Channel(EventTable table)
    {
        var name = table.Schema + "." + table.Table;
        return name.Length <= 63 ? name : name[..63];
    }

    internal static string SubscriptionsQualifiedName(EventTable table) => $"\"{table.Schema}\".\"{table.Table}_subscriptions\"";

    // One advisory lock per (table, subscription name); hashtextextended makes the bigint key on the server,
    // so any client derives the same key.
    internal static string LeaderKey(EventTable table, string name) => "RxEventBus.Postgres subscription " + table.QualifiedName + " " + name;
}
