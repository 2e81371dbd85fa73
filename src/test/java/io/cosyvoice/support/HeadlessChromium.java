package io.cosyvoice.support;

import org.junit.jupiter.api.Assumptions;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Debian's {@code chromium} driven through its {@code chromium-driver}, headless, with a fake
 * microphone and autoplay allowed, for tests of the web UI. {@code .ci/run} installs both; under
 * {@code CI=true} a missing browser fails the test, elsewhere it skips with a message saying what to
 * install. {@code CHROMIUM_BIN} and {@code CHROMEDRIVER_BIN} name other executables.
 */
public final class HeadlessChromium implements AutoCloseable {

    public static final Path SCREENSHOTS = Path.of("target", "webui-screenshots");
    /**
     * Selenium warns at every start that it has no DevTools bindings for this Chromium version; the
     * tests use WebDriver only. Held here so the logging configuration is not garbage-collected.
     */
    private static final List<java.util.logging.Logger> QUIET = Stream.of("org.openqa.selenium.devtools", "org.openqa.selenium.chromium")
            .map(java.util.logging.Logger::getLogger)
            .peek(logger -> logger.setLevel(java.util.logging.Level.SEVERE))
            .toList();

    private final ChromeDriver driver;

    private HeadlessChromium(ChromeDriver driver) {
        this.driver = driver;
    }

    public static HeadlessChromium start() {
        Optional<Path> browser = executable("CHROMIUM_BIN", List.of("chromium", "chromium-browser", "google-chrome"));
        Optional<Path> chromedriver = executable("CHROMEDRIVER_BIN", List.of("chromedriver"));
        if (browser.isEmpty() || chromedriver.isEmpty()) {
            String message = "the web UI tests need chromium and chromedriver (missing: "
                    + (browser.isEmpty() ? "chromium " : "") + (chromedriver.isEmpty() ? "chromedriver" : "")
                    + "); install them with: apt-get install -y chromium chromium-driver (.ci/run does)";
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                throw new IllegalStateException(message);
            }
            // surefire reports a class aborted in @BeforeAll as 0 tests run: say so where it shows
            System.err.println("\n*** SKIPPED: web UI browser tests: " + message + " ***\n");
            Assumptions.abort("SKIPPED: " + message);
        }
        ChromeOptions options = new ChromeOptions();
        options.setBinary(browser.get().toFile());
        options.addArguments(
                "--headless=new",
                "--no-sandbox", // CI runs as root
                "--disable-dev-shm-usage",
                "--disable-gpu",
                "--lang=en-US",
                "--window-size=1280,1000",
                "--autoplay-policy=no-user-gesture-required",
                // a fake microphone (a beeping tone) that needs no permission prompt
                "--use-fake-device-for-media-stream",
                "--use-fake-ui-for-media-stream");
        // the page's console, read by problems()
        options.setCapability("goog:loggingPrefs", java.util.Map.of("browser", "ALL"));
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(chromedriver.get().toFile())
                .usingAnyFreePort()
                .build();
        ChromeDriver driver = new ChromeDriver(service, options);
        driver.manage().timeouts().scriptTimeout(Duration.ofSeconds(60));
        return new HeadlessChromium(driver);
    }

    public ChromeDriver driver() {
        return driver;
    }

    /**
     * What the page's console reported since the last call that points at a broken page: script
     * errors and Content-Security-Policy violations (failed API calls the page handles are not).
     */
    public List<String> problems() {
        return driver.manage().logs().get(org.openqa.selenium.logging.LogType.BROWSER).getAll().stream()
                .map(org.openqa.selenium.logging.LogEntry::getMessage)
                .filter(m -> m.contains("Uncaught") || m.contains("Content Security Policy") || m.contains("Refused to"))
                .toList();
    }

    public void resize(int width, int height) {
        driver.manage().window().setSize(new Dimension(width, height));
    }

    /** Saves a full-page PNG as {@code target/webui-screenshots/<name>.png}. */
    public Path screenshot(String name) {
        try {
            Files.createDirectories(SCREENSHOTS);
            // grow the window to the page's height so the screenshot shows all of it
            Dimension size = driver.manage().window().getSize();
            Number height = (Number) driver.executeScript("return document.documentElement.scrollHeight");
            int fullHeight = Math.max(size.getHeight(), height.intValue() + 140);
            driver.manage().window().setSize(new Dimension(size.getWidth(), Math.min(fullHeight, 6000)));
            File shot = ((TakesScreenshot) driver).getScreenshotAs(OutputType.FILE);
            driver.manage().window().setSize(size);
            Path target = SCREENSHOTS.resolve(name + ".png");
            Files.copy(shot.toPath(), target, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Optional<Path> executable(String variable, List<String> names) {
        String configured = System.getenv(variable);
        if (configured != null && !configured.isBlank()) {
            Path path = Path.of(configured);
            if (!Files.isExecutable(path)) {
                throw new IllegalStateException(variable + "=" + configured + " is not an executable file");
            }
            return Optional.of(path);
        }
        String pathVariable = Optional.ofNullable(System.getenv("PATH")).orElse("/usr/bin:/bin");
        return names.stream()
                .flatMap(name -> Stream.of(pathVariable.split(File.pathSeparator)).map(dir -> Path.of(dir, name)))
                .filter(Files::isExecutable)
                .findFirst();
    }

    @Override
    public void close() {
        driver.quit();
    }
}
