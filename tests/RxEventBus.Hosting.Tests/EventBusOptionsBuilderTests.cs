using System.Collections;
using System.Reactive.Concurrency;
using System.Reflection;

namespace RxEventBus.Hosting.Tests;

// EventBusOptionsBuilder is kept by hand beside EventBusOptions: an option added to one and forgotten in the
// other would silently be unsettable from a host.
public sealed class EventBusOptionsBuilderTests
{
    private static readonly PropertyInfo[] Options =
        [.. typeof(EventBusOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite)];

    public static TheoryData<string> OptionNames() => [.. Options.Select(p => p.Name)];

    [Fact]
    public void EveryOption_IsFoundByReflection()
    {
        Options.Select(p => p.Name).Should().Contain(["Scheduler", "Topics", "RegexMatchTimeout"], "the test must see the options it guards");
    }

    [Theory]
    [MemberData(nameof(OptionNames))]
    public void Build_EveryOptionSetOnTheBuilder_IsCarriedOver(string name)
    {
        var option = typeof(EventBusOptions).GetProperty(name)!;
        var setting = typeof(EventBusOptionsBuilder).GetProperty(name);
        setting.Should().NotBeNull("EventBusOptions.{0} needs a property of the same name on EventBusOptionsBuilder", name);
        var builder = new EventBusOptionsBuilder();
        var value = SampleOf(option.PropertyType);
        if (setting!.CanWrite)
        {
            setting.SetValue(builder, value);
        }
        else
        {
            // A collection the builder holds and the caller adds to (Topics).
            setting.GetValue(builder).Should().BeAssignableTo<IList>("a read-only builder property must be a list to add to");
            foreach (var item in (IEnumerable)value)
            {
                ((IList)setting.GetValue(builder)!).Add(item);
            }
        }

        var built = option.GetValue(builder.Build());

        built.Should().BeEquivalentTo(value, "Build() must carry EventBusOptionsBuilder.{0} over to EventBusOptions.{0}", name);
        option.GetValue(new EventBusOptions()).Should().NotBeEquivalentTo(value, "the sample must differ from the default to prove anything");
    }

    // A value of each option type that is not its default. A new type fails here: add a sample for it.
    private static object SampleOf(Type type) => type switch
    {
        _ when type == typeof(IScheduler) => new HistoricalScheduler(),
        _ when type == typeof(IReadOnlyCollection<string>) => new[] { "orders", "payments" },
        _ when type == typeof(bool) => true,
        _ when type == typeof(TimeSpan?) => TimeSpan.FromMinutes(3),
        _ when type == typeof(TimeSpan) => TimeSpan.FromSeconds(7),
        _ when type == typeof(string) => "sample",
        _ when type == typeof(Func<DateTimeOffset, Guid>) => (Func<DateTimeOffset, Guid>)(static _ => Guid.Empty),
        _ => throw new NotSupportedException($"No sample value for an option of type {type}: add one to {nameof(SampleOf)}."),
    };
}
