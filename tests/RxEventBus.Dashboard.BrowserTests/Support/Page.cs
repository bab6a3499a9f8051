using System.Collections.ObjectModel;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Support.UI;

namespace RxEventBus.Dashboard.BrowserTests.Support;

/// <summary>Bounded waits on what the page shows (WebDriverWait polls the DOM; nothing sleeps to order steps).</summary>
internal static class Page
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    /// <summary>Waits until <paramref name="value"/> returns non-null, and returns it; fails with what was last seen.</summary>
    public static T Until<T>(this ChromeDriver driver, Func<IWebDriver, T?> value, string because, Func<string>? lastSeen = null)
        where T : class
    {
        var wait = new WebDriverWait(driver, Timeout) { PollingInterval = TimeSpan.FromMilliseconds(50) };
        wait.IgnoreExceptionTypes(typeof(NoSuchElementException), typeof(StaleElementReferenceException));
        try
        {
            return wait.Until(d => value(d));
        }
        catch (WebDriverTimeoutException)
        {
            throw new Xunit.Sdk.XunitException($"Timed out after {Timeout.TotalSeconds} s waiting until {because}." +
                (lastSeen is null ? "" : $" Last seen: {Safe(lastSeen)}"));
        }
    }

    /// <summary>Waits until <paramref name="condition"/> holds.</summary>
    public static void UntilTrue(this ChromeDriver driver, Func<IWebDriver, bool> condition, string because, Func<string>? lastSeen = null) =>
        driver.Until(d => condition(d) ? "yes" : null, because, lastSeen);

    /// <summary>
    /// Waits until the page says its live tail is live: the shared subscription has fixed where it starts and caught
    /// up, so every event committed from then on shows in the tail.
    /// </summary>
    public static void UntilTailIsLive(this ChromeDriver driver) =>
        driver.UntilTrue(d => d.All("#tail-state[data-state=live]").Count == 1, "the page's tail is live",
            () => driver.TextOf("#tail-state") ?? "(no #tail-state)");

    /// <summary>
    /// The rendered text of the first element <paramref name="css"/> selects, or null when there is none — read in one
    /// script call, since the live view replaces its elements on every message (a found element can go stale).
    /// </summary>
    public static string? TextOf(this IWebDriver driver, string css) =>
        (string?)((IJavaScriptExecutor)driver).ExecuteScript(
            "var e = document.querySelector(arguments[0]); return e ? e.innerText.trim() : null;", css);

    /// <summary>The text content of every element <paramref name="css"/> selects, read in one script call.</summary>
    public static IReadOnlyList<string> Texts(this ChromeDriver driver, string css) =>
        ((IEnumerable<object>)driver.ExecuteScript("return Array.from(document.querySelectorAll(arguments[0])).map(e => e.textContent);", css)!)
            .Select(o => (string)o).ToList();

    public static ReadOnlyCollection<IWebElement> All(this IWebDriver driver, string css) => driver.FindElements(By.CssSelector(css));

    /// <summary>A count the page shows ("1,234" or "–"), or null when it shows none yet.</summary>
    public static long? Number(string? text) =>
        long.TryParse(text?.Replace(",", "", StringComparison.Ordinal), System.Globalization.NumberStyles.Integer,
            System.Globalization.CultureInfo.InvariantCulture, out var n) ? n : null;

    private static string Safe(Func<string> lastSeen)
    {
        try
        {
            return lastSeen();
        }
        catch (WebDriverException e)
        {
            return e.Message;
        }
    }
}
