namespace RxEventBus.Postgres.Tests.Subscriptions;

public sealed class LogPositionTests
{
    [Theory]
    [InlineData("1356:2", 1356UL, 2L)]
    [InlineData("0:0", 0UL, 0L)]
    [InlineData("18446744073709551615:9223372036854775807", ulong.MaxValue, long.MaxValue)]
    public void Parse_TextForm_RoundTrips(string text, ulong transaction, long sequence)
    {
        var position = LogPosition.Parse(text);

        position.Should().Be(new LogPosition(transaction, sequence));
        position.ToString().Should().Be(text);
    }

    [Theory]
    [InlineData("")]
    [InlineData("12")]
    [InlineData(":3")]
    [InlineData("-1:3")]
    [InlineData("1:x")]
    [InlineData("1:2:3")]
    public void Parse_NotAPosition_ThrowsFormatExceptionShowingTheExpectedForm(string text)
    {
        var parse = () => LogPosition.Parse(text);

        parse.Should().Throw<FormatException>().WithMessage("*<tx>:<position>*");
        LogPosition.TryParse(text, out _).Should().BeFalse();
    }

    [Fact]
    public void CompareTo_OrdersByTransactionThenPosition()
    {
        LogPosition[] positions = [new(7, 1), new(5, 9), new(5, 2), LogPosition.Beginning];

        positions.Order().Should().Equal(LogPosition.Beginning, new LogPosition(5, 2), new LogPosition(5, 9), new LogPosition(7, 1));
        (new LogPosition(5, 9) < new LogPosition(7, 1)).Should().BeTrue("a later transaction comes after, whatever the position");
        LogPosition.Max(new LogPosition(5, 9), new LogPosition(7, 1)).Should().Be(new LogPosition(7, 1));
    }
}
