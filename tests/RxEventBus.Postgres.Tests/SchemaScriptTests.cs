using System.Text.RegularExpressions;

namespace RxEventBus.Postgres.Tests;

public sealed partial class SchemaScriptTests
{
    private static readonly string Script = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "schema.sql"));

    [Fact]
    public void SchemaSql_DdlStatements_AreEventTableCreateScriptForPublicEvents()
    {
        var expected = Statements(new EventTable("public", "events").CreateScript);

        var ddl = Statements(Script).Where(s => !s.StartsWith("GRANT ", StringComparison.Ordinal));

        ddl.Should().Equal(expected, "docs/schema.sql is what a DBA runs instead of EnsureSchemaAsync");
    }

    [Fact]
    public void SchemaSql_Grants_AreTheLeastPrivilegeTheStoreAndConsumerNeed()
    {
        var grants = Statements(Script).Where(s => s.StartsWith("GRANT ", StringComparison.Ordinal));

        grants.Should().BeEquivalentTo(
            [
                "GRANT USAGE ON SCHEMA \"public\" TO rxeventbus",
                "GRANT SELECT, INSERT, DELETE ON TABLE \"public\".\"events\" TO rxeventbus",
                "GRANT USAGE ON SEQUENCE \"public\".\"events_position_seq\" TO rxeventbus",
                "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE \"public\".\"events_dead_letters\" TO rxeventbus",
                "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE \"public\".\"events_subscriptions\" TO rxeventbus",
            ],
            "the store reads and deletes events, the consumer inserts them (taking positions from the sequence), dead letters are stored, " +
            "counted (UPDATE), listed and replayed or purged (DELETE), and checkpoints are read, stored and forgotten");
        Script.Should().Contain("EB_PG_ENSURE_SCHEMA=false", "a role without CREATE needs schema creation turned off");
    }

    // Statements without comments, with runs of whitespace made one space.
    private static List<string> Statements(string sql) =>
        LineComment().Replace(sql, "")
            .Split(';')
            .Select(s => Whitespace().Replace(s, " ").Trim())
            .Where(s => s.Length > 0)
            .ToList();

    [GeneratedRegex("--[^\n]*")]
    private static partial Regex LineComment();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
