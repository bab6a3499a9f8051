namespace RxEventBus.Postgres.Tests;

public sealed class EventTableTests
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
}
