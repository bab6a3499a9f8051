using System.Text;
using System.Text.RegularExpressions;

namespace RxEventBus.Postgres.Tests;

public sealed partial class EventTableTests
{
    [Theory]
    [InlineData("events\"; DROP TABLE x; --")]
    [InlineData("events; DROP TABLE x")]
    [InlineData("events\" (id int); --")]
    [InlineData("ev ents")]
    [InlineData("1events")]
    [InlineData("")]
    public void Constructor_InjectionThroughTableName_IsRefused(string table)
    {
        var create = () => new EventTable("public", table);

        create.Should().Throw<ArgumentException>("a table name must never reach SQL unless it is a plain identifier")
            .WithMessage("*EB_PG_TABLE*");
    }

    [Theory]
    [InlineData("public\"; DROP SCHEMA public CASCADE; --")]
    [InlineData("public.evil")]
    [InlineData("pub\"lic")]
    public void Constructor_InjectionThroughSchemaName_IsRefused(string schema)
    {
        var create = () => new EventTable(schema, "events");

        create.Should().Throw<ArgumentException>().WithMessage("*EB_PG_SCHEMA*");
    }

    [Fact]
    public void QualifiedName_PlainNames_AreQuoted()
    {
        new EventTable("Audit_2024", "events").QualifiedName.Should().Be("\"Audit_2024\".\"events\"");
    }

    [Fact]
    public void DeadLettersQualifiedName_PlainNames_AreTheTableNameWithSuffixQuotedInTheSameSchema()
    {
        var table = new EventTable("Audit_2024", "events");

        table.DeadLettersTable.Should().Be("events_dead_letters");
        table.DeadLettersQualifiedName.Should().Be("\"Audit_2024\".\"events_dead_letters\"", "it lives beside the events table");
    }

    [Fact]
    public void CreateScript_LongestTableName_EveryNameFitsInPostgresIdentifierLimit()
    {
        var table = new EventTable("public", new string('t', 40));

        var names = CreatedNames(table.CreateScript);

        names.Should().HaveCount(10, "three tables, four indexes on the events and two on the dead letters, one sequence");
        names.Should().Contain(table.DeadLettersTable);
        names.Should().OnlyContain(
            n => Encoding.UTF8.GetByteCount(n) <= 63, "PostgreSQL cuts longer identifiers silently, which could make two names one");
    }

    [Fact]
    public void CreateScript_TableAndAnotherNamedLikeItsDeadLetterIndexes_ShareNoName()
    {
        // "events_dl" is the table whose index names a "<table>_dl_<column>_idx" scheme would collide with.
        var names = CreatedNames(new EventTable("public", "events").CreateScript)
            .Concat(CreatedNames(new EventTable("public", "events_dl").CreateScript))
            .ToList();

        names.Should().HaveCount(20).And.OnlyHaveUniqueItems(
            "CREATE INDEX IF NOT EXISTS would silently skip an index whose name another table's index holds");
    }

    // The tables, indexes and sequences a script creates, unquoted (they share one namespace per schema). The
    // primary keys' implicit index names are not in the script; the longest, "<table>_subscriptions_pkey", is 59
    // bytes for the longest table name.
    private static List<string> CreatedNames(string script) =>
        CreatedName().Matches(script).Select(static m => m.Groups[1].Value).ToList();

    [GeneratedRegex(@"CREATE (?:(?:TABLE|SEQUENCE) IF NOT EXISTS ""[^""]+""\.|INDEX IF NOT EXISTS )""([^""]+)""")]
    private static partial Regex CreatedName();
}
