using System.CommandLine;
using System.Globalization;

namespace RxEventBus.Cli;

/// <summary>
/// The flags and arguments <c>query</c> and <c>dead-letters</c> share — ids, pages, times — each checked while
/// the command line is parsed, so a bad value is a usage error (exit code 2) before any connection is made.
/// </summary>
internal static class CommandOptions
{
    public const int DefaultPerPage = 100;

    /// <summary>One UUID.</summary>
    public static Argument<string> IdArgument(string name, string description)
    {
        var argument = new Argument<string>(name) { Description = description };
        argument.Validators.Add(result => CheckIds(result, name));
        return argument;
    }

    /// <summary>Any number of UUIDs, none included.</summary>
    public static Argument<string[]> IdsArgument(string name, string description)
    {
        var argument = new Argument<string[]>(name) { Description = description, Arity = ArgumentArity.ZeroOrMore };
        argument.Validators.Add(result => CheckIds(result, name));
        return argument;
    }

    /// <summary>The ids as given, each parsed once the validator has passed them.</summary>
    public static IReadOnlyList<Guid> Ids(ParseResult parse, Argument<string[]> argument) =>
        [.. (parse.GetValue(argument) ?? []).Select(static id => Guid.Parse(id, CultureInfo.InvariantCulture)).Distinct()];

    /// <summary>A time flag such as <c>--since</c>: ISO 8601, UTC when no offset is given.</summary>
    public static Option<string> TimeOption(string name, string description)
    {
        var option = new Option<string>(name)
        {
            HelpName = "TIME",
            Description = $"{description}: ISO 8601, e.g. 2025-01-31T12:00:00Z (UTC when no offset is given).",
        };
        option.Validators.Add(result =>
        {
            if (result.Tokens.Count == 1 && ParseTime(result.Tokens[0].Value) is null)
            {
                result.AddError($"{name} must be a time such as 2025-01-31T12:00:00Z, but is '{result.Tokens[0].Value}'.");
            }
        });
        return option;
    }

    /// <summary>The time given for <paramref name="option"/>; null when it was left out.</summary>
    public static DateTimeOffset? Time(ParseResult parse, Option<string> option) =>
        parse.GetValue(option) is { } text ? ParseTime(text) : null;

    public static Option<int> PageOption()
    {
        var option = new Option<int>("--page") { HelpName = "N", Description = "The page, from 1.", DefaultValueFactory = _ => 1 };
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() < 1)
            {
                result.AddError("--page counts from 1.");
            }
        });
        return option;
    }

    /// <param name="what">What a page holds, for the help: "Events", "Dead letters".</param>
    /// <param name="max">The store's largest page.</param>
    public static Option<int> PerPageOption(string what, int max)
    {
        var option = new Option<int>("--per-page")
        {
            HelpName = "N",
            Description = Invariant($"{what} per page, 1 to {max}."),
            DefaultValueFactory = _ => DefaultPerPage,
        };
        option.Validators.Add(result =>
        {
            var perPage = result.GetValueOrDefault<int>();
            if (perPage < 1 || perPage > max)
            {
                result.AddError(Invariant($"--per-page must be from 1 to {max}."));
            }
        });
        return option;
    }

    /// <summary>ISO 8601 UTC with fractional seconds, as every command prints a time.</summary>
    public static string? Format(DateTimeOffset? time) => time?.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private static void CheckIds(System.CommandLine.Parsing.ArgumentResult result, string name)
    {
        foreach (var token in result.Tokens)
        {
            if (!Guid.TryParse(token.Value, CultureInfo.InvariantCulture, out _))
            {
                result.AddError($"{name} must be a UUID such as 0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b, but is '{token.Value}'.");
            }
        }
    }

    private static DateTimeOffset? ParseTime(string text) =>
        DateTimeOffset.TryParse(text.Trim(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time) ? time : null;
}
