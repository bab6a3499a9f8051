using RxEventBus.Dashboard.BrowserTests.Support;

namespace RxEventBus.Dashboard.BrowserTests;

// The browser fixture's "find or install, else explain" step, with made-up binary paths and installers (shell
// commands; marker files in a temporary directory): no browser runs and the machine's packages are not touched.
// The installers print text that is not in their command line (tr, sed), so a message that names the command
// but drops the output fails.
public sealed class ChromiumInstallTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rxeb-chromium-install-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Missing(string name) => Path.Combine(_dir, "absent", name);

    private string Present(string name)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, "");
        return path;
    }

    private static InstallStep Shell(string script) => new("/bin/sh", ["-c", script]);

    [Fact]
    public async Task Missing_InstallerFails_SaysWhichBinaryTheCommandItsExitCodeAndItsOutput()
    {
        var driver = Present("chromedriver");
        var install = new ChromiumInstall
        {
            BrowserPath = Missing("chromium"),
            DriverPath = driver,
            Installer = [Shell("echo reading package lists | tr a-z A-Z; echo 'x: no network' | sed s/x/E/ >&2; exit 100")],
        };

        var failure = await install.FindOrInstallAsync();

        failure.Should().NotBeNull()
            .And.Contain(Missing("chromium"), "the missing binary is named")
            .And.NotContain(driver, "the driver is there, so it is not said to be missing")
            .And.Contain("/bin/sh -c echo reading package lists", "the command is named")
            .And.Contain("exited with 100")
            .And.Contain("READING PACKAGE LISTS", "the installer's standard output")
            .And.Contain("E: no network", "the installer's standard error");
    }

    [Fact]
    public async Task Missing_FirstStepFails_TheSecondIsNotRun()
    {
        var ran = Path.Combine(_dir, "second-ran");
        var install = new ChromiumInstall
        {
            BrowserPath = Missing("chromium"),
            DriverPath = Missing("chromedriver"),
            Installer = [Shell("echo 'x: update failed' | sed s/x/E/ >&2; exit 1"), Shell($"touch '{ran}'")],
        };

        var failure = await install.FindOrInstallAsync();

        failure.Should().Contain(Missing("chromium")).And.Contain(Missing("chromedriver"))
            .And.Contain("exited with 1").And.Contain("E: update failed");
        File.Exists(ran).Should().BeFalse("an install whose first step (apt-get update) failed stops there");
    }

    [Fact]
    public async Task Missing_InstallerSucceedsButLeavesItMissing_StillFailsSayingSo()
    {
        var install = new ChromiumInstall
        {
            BrowserPath = Present("chromium"),
            DriverPath = Missing("chromedriver"),
            Installer = [Shell("echo all done | tr a-z A-Z; exit 0")],
        };

        var failure = await install.FindOrInstallAsync();

        failure.Should().NotBeNull("the driver is still missing after the install")
            .And.Contain("ran without an error")
            .And.Contain(Missing("chromedriver") + " is still missing")
            .And.Contain("exited with 0").And.Contain("ALL DONE", "with what the installer printed");
    }

    [Fact]
    public async Task Missing_InstallerProvidesThem_Succeeds()
    {
        var browser = Path.Combine(_dir, "chromium");
        var driver = Path.Combine(_dir, "chromedriver");
        var install = new ChromiumInstall
        {
            BrowserPath = browser,
            DriverPath = driver,
            Installer = [Shell($"touch '{browser}' '{driver}'")],
        };

        (await install.FindOrInstallAsync()).Should().BeNull("both binaries are there once the installer ran");
    }

    [Fact]
    public async Task Present_NoInstallerRuns()
    {
        var ran = Path.Combine(_dir, "installer-ran");
        var install = new ChromiumInstall
        {
            BrowserPath = Present("chromium"),
            DriverPath = Present("chromedriver"),
            Installer = [Shell($"touch '{ran}'; exit 1")],
        };

        (await install.FindOrInstallAsync()).Should().BeNull();
        File.Exists(ran).Should().BeFalse("nothing is installed when both binaries are there");
    }

    [Fact]
    public async Task Missing_InstallerHangs_GivesUpAtTheTimeoutSayingSo()
    {
        // If the timeout did not work the sleep would end on its own after 30 s, exit 0, and the message would say
        // "still missing" rather than "timed out": the test fails rather than hangs.
        var install = new ChromiumInstall
        {
            BrowserPath = Missing("chromium"),
            DriverPath = Missing("chromedriver"),
            Installer = [Shell("echo waiting for the lock | tr a-z A-Z; sleep 30")],
            Timeout = TimeSpan.FromSeconds(1),
        };

        var failure = await install.FindOrInstallAsync();

        failure.Should().Contain(Missing("chromium"))
            .And.Contain("timed out: gave up after 1 s")
            .And.Contain("sleep 30", "the command is named")
            .And.Contain("WAITING FOR THE LOCK", "what it printed before it was killed");
    }

    [Fact]
    public async Task Missing_InstallerNotFound_SaysItCouldNotBeRun()
    {
        var install = new ChromiumInstall
        {
            BrowserPath = Missing("chromium"),
            DriverPath = Missing("chromedriver"),
            Installer = [new InstallStep(Missing("apt-get"), ["update"])],
        };

        (await install.FindOrInstallAsync()).Should().Contain(Missing("apt-get") + " update").And.Contain("could not be run");
    }

    [Fact]
    public void Defaults_AreDebiansPackagesInstalledWithAptGet_BoundedInTime()
    {
        var install = new ChromiumInstall();

        install.BrowserPath.Should().Be("/usr/bin/chromium");
        install.DriverPath.Should().Be("/usr/bin/chromedriver");
        install.Installer.Select(static s => s.ToString()).Should().Equal("apt-get update", "apt-get install -y chromium chromium-driver");
        install.Timeout.Should().Be(TimeSpan.FromMinutes(5));
    }

    [Fact]
    public async Task Fixture_WhenTheInstallFails_EveryUseOfTheBrowserFailsWithWhy_NotASkip()
    {
        var chromium = new Chromium(new ChromiumInstall
        {
            BrowserPath = Missing("chromium"),
            DriverPath = Missing("chromedriver"),
            Installer = [Shell("echo 'x: no network' | sed s/x/E/ >&2; exit 100")],
        });

        await chromium.InitializeAsync();

        // Each test reads Driver first: an exception (xunit 2 has no skip by exception) fails it, and says why.
        for (var test = 0; test < 2; test++)
        {
            var use = () => chromium.Driver;
            use.Should().Throw<InvalidOperationException>()
                .Which.Message.Should().Contain(Missing("chromium")).And.Contain("exited with 100").And.Contain("E: no network");
        }

        chromium.LeavePage(); // the tests' cleanup does not throw over the failure
        await chromium.DisposeAsync();
    }
}
