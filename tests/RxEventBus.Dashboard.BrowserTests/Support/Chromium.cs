using System.Diagnostics;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using RxEventBus.Postgres.Tests.Support;

namespace RxEventBus.Dashboard.BrowserTests.Support;

/// <summary>
/// Headless Chromium from the distribution's packages (<c>chromium</c>, <c>chromium-driver</c>), driven by Selenium,
/// one browser for the whole collection. When the binaries are missing it installs them with apt-get (bounded in
/// time); when that fails, every test fails with apt's output — a browser test that cannot run is not skipped.
/// </summary>
/// <remarks>Both paths are given to Selenium, so Selenium Manager never tries to download a browser or a driver.</remarks>
public sealed class Chromium : IAsyncLifetime
{
    public const string BrowserPath = "/usr/bin/chromium";
    public const string DriverDirectory = "/usr/bin";
    public const string DriverFile = "chromedriver";

    private static readonly TimeSpan InstallTimeout = TimeSpan.FromMinutes(5);

    private ChromeDriver? _driver;
    private string? _failure;

    /// <summary>The browser; throws, with the reason, if it could not be installed or started.</summary>
    public ChromeDriver Driver => _driver ?? throw new InvalidOperationException(_failure ?? "The browser fixture is not initialized.");

    /// <summary>Leaves the current page (closing its Server-Sent-Event streams), if the browser runs.</summary>
    public void LeavePage() => _driver?.Navigate().GoToUrl("about:blank");

    public async Task InitializeAsync()
    {
        var driverPath = Path.Combine(DriverDirectory, DriverFile);
        if (!File.Exists(BrowserPath) || !File.Exists(driverPath))
        {
            var (ok, output) = await InstallAsync();
            if (!ok || !File.Exists(BrowserPath) || !File.Exists(driverPath))
            {
                _failure = $"Chromium is missing ({BrowserPath} or {driverPath}) and could not be installed with " +
                    $"'apt-get install -y chromium chromium-driver':{Environment.NewLine}{output}";
                return;
            }
        }

        try
        {
            var service = ChromeDriverService.CreateDefaultService(DriverDirectory, DriverFile);
            service.HideCommandPromptWindow = true;
            service.SuppressInitialDiagnosticInformation = true;
            var options = new ChromeOptions { BinaryLocation = BrowserPath };
            // --no-sandbox: the tests run as root, where Chromium's sandbox refuses to start.
            options.AddArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000");
            options.UnhandledPromptBehavior = UnhandledPromptBehavior.Ignore;
            _driver = new ChromeDriver(service, options, TimeSpan.FromSeconds(60));
            _driver.Manage().Timeouts().PageLoad = TimeSpan.FromSeconds(30);
            _driver.Manage().Timeouts().AsynchronousJavaScript = TimeSpan.FromSeconds(10);
        }
        catch (WebDriverException e)
        {
            _failure = $"Chromium ({BrowserPath}) with {driverPath} did not start: {e}";
        }
    }

    public Task DisposeAsync()
    {
        _driver?.Quit();
        _driver?.Dispose();
        return Task.CompletedTask;
    }

    private static async Task<(bool Ok, string Output)> InstallAsync()
    {
        var log = new System.Text.StringBuilder();
        foreach (var arguments in new[] { "update", "install -y chromium chromium-driver" })
        {
            var (code, output) = await RunAsync("apt-get", arguments);
            log.Append("$ apt-get ").Append(arguments).Append(" (exit ").Append(code is null ? "timed out" : code.Value.ToString(System.Globalization.CultureInfo.InvariantCulture))
                .AppendLine(")").AppendLine(output);
            if (code != 0)
            {
                return (false, log.ToString());
            }
        }

        return (true, log.ToString());
    }

    private static async Task<(int? Code, string Output)> RunAsync(string file, string arguments)
    {
        var start = new ProcessStartInfo(file, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["DEBIAN_FRONTEND"] = "noninteractive";
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException($"{file} did not start.");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, $"{file} could not be run: {e.Message}");
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(InstallTimeout);
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                return (null, $"gave up after {InstallTimeout.TotalMinutes} minutes{Environment.NewLine}{await stdout}{await stderr}");
            }

            return (process.ExitCode, await stdout + await stderr);
        }
    }
}

/// <summary>The browser tests: one collection, so they run one after another against the one browser.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SharedBrowser : ICollectionFixture<PostgresFixture>, ICollectionFixture<Chromium>
{
    public const string Name = "Browser";
}
