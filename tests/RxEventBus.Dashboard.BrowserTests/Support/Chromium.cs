using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using RxEventBus.Postgres.Tests.Support;

namespace RxEventBus.Dashboard.BrowserTests.Support;

/// <summary>
/// Headless Chromium from the distribution's packages (<c>chromium</c>, <c>chromium-driver</c>), driven by Selenium,
/// one browser for the whole collection. When the binaries are missing it installs them with apt-get (bounded in
/// time, see <see cref="ChromiumInstall"/>); when that fails, every test fails with why — the missing binary, the
/// command, its exit code and its output — a browser test that cannot run is not skipped.
/// </summary>
/// <remarks>Both paths are given to Selenium, so Selenium Manager never tries to download a browser or a driver.</remarks>
public sealed class Chromium : IAsyncLifetime
{
    private readonly ChromiumInstall _install;
    private ChromeDriver? _driver;
    private string? _failure;

    /// <summary>The fixture xunit creates: Debian's binaries, installed with apt-get when missing.</summary>
    public Chromium()
        : this(new ChromiumInstall())
    {
    }

    /// <summary>A fixture with other binaries or another installer (the fixture's own tests).</summary>
    internal Chromium(ChromiumInstall install) => _install = install;

    /// <summary>The browser; throws, with the reason, if it could not be installed or started.</summary>
    public ChromeDriver Driver => _driver ?? throw new InvalidOperationException(_failure ?? "The browser fixture is not initialized.");

    /// <summary>Leaves the current page (closing its Server-Sent-Event streams), if the browser runs.</summary>
    public void LeavePage() => _driver?.Navigate().GoToUrl("about:blank");

    public async Task InitializeAsync()
    {
        _failure = await _install.FindOrInstallAsync();
        if (_failure is not null)
        {
            return;
        }

        var driverPath = _install.DriverPath;
        try
        {
            var service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(driverPath), Path.GetFileName(driverPath));
            service.HideCommandPromptWindow = true;
            service.SuppressInitialDiagnosticInformation = true;
            var options = new ChromeOptions { BinaryLocation = _install.BrowserPath };
            // --no-sandbox: the tests run as root, where Chromium's sandbox refuses to start.
            options.AddArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000");
            options.UnhandledPromptBehavior = UnhandledPromptBehavior.Ignore;
            _driver = new ChromeDriver(service, options, TimeSpan.FromSeconds(60));
            _driver.Manage().Timeouts().PageLoad = TimeSpan.FromSeconds(30);
            _driver.Manage().Timeouts().AsynchronousJavaScript = TimeSpan.FromSeconds(10);
        }
        catch (WebDriverException e)
        {
            _failure = $"Chromium ({_install.BrowserPath}) with {driverPath} did not start: {e}";
        }
    }

    public Task DisposeAsync()
    {
        _driver?.Quit();
        _driver?.Dispose();
        return Task.CompletedTask;
    }
}

/// <summary>The browser tests: one collection, so they run one after another against the one browser.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SharedBrowser : ICollectionFixture<PostgresFixture>, ICollectionFixture<Chromium>
{
    public const string Name = "Browser";
}
