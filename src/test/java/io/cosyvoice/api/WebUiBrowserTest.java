package io.cosyvoice.api;

import io.cosyvoice.audio.DecodedAudio;
import io.cosyvoice.support.HeadlessChromium;
import io.cosyvoice.support.TestServer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.Keys;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.interactions.Actions;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The web UI at {@code /} in headless Chromium against the real server and engine (tiny twin):
 * upload a voice from a file and from the (fake) microphone, play and delete voices, synthesise in
 * each mode over both transports and formats with streaming playback, the download, the figures the
 * page reports, and API errors shown to the user. Screenshots of each state go to
 * {@code target/webui-screenshots/}.
 */
class WebUiBrowserTest {

    private static final Path PROMPT = Path.of("models/reference/prompt.wav");
    private static final String PROMPT_TEXT = "希望你以后能够做得比我还好哟。";
    private static final Pattern SECONDS = Pattern.compile("([0-9.]+) s");

    private static TestServer server;
    private static HeadlessChromium chromium;
    private static WebDriver driver;
    private static String voice;

    @BeforeAll
    static void start() throws Exception {
        chromium = HeadlessChromium.start();
        driver = chromium.driver();
        server = TestServer.withEngine(Map.of());
        voice = server.uploadOk("api-voice.wav", Files.readAllBytes(PROMPT), PROMPT_TEXT).getString("id");
    }

    @AfterAll
    static void stop() {
        if (chromium != null) {
            chromium.close();
        }
        if (server != null) {
            server.close();
        }
    }

    @AfterEach
    void thePageReportedNoScriptErrors() {
        assertEquals(List.of(), chromium.problems(), "script errors or CSP violations in the browser console");
    }

    // ------------------------------------------------------------------ helpers

    /** Loads the page with the token already in the browser's storage, as a returning user. */
    private static void open() {
        open(TestServer.TOKEN);
    }

    private static void open(String token) {
        driver.get(server.baseUrl() + "/");
        js("localStorage.setItem('cosyvoice.token', arguments[0])", token);
        driver.navigate().refresh();
        waitFor(d -> element("voices-error").isDisplayed()
                || !text("voices-status").isEmpty() && !text("voices-status").startsWith("Loading"));
    }

    private static Object js(String script, Object... args) {
        return ((JavascriptExecutor) driver).executeScript(script, args);
    }

    private static WebElement element(String id) {
        return driver.findElement(By.id(id));
    }

    private static String text(String id) {
        return element(id).getText().strip();
    }

    private static void waitFor(java.util.function.Function<WebDriver, Boolean> condition) {
        new WebDriverWait(driver, Duration.ofSeconds(60)).until(condition::apply);
    }

    private static double seconds(String id) {
        Matcher m = SECONDS.matcher(text(id));
        assertTrue(m.find(), id + " shows seconds: '" + text(id) + "'");
        return Double.parseDouble(m.group(1));
    }

    private static void type(String id, String value) {
        WebElement field = element(id);
        field.clear();
        field.sendKeys(value);
    }

    private static List<String> voiceIdsInList() {
        // read in one script: the list may be re-rendered between two WebDriver calls
        @SuppressWarnings("unchecked")
        List<String> ids = (List<String>) js("return [...document.querySelectorAll('#voice-list li')].map(li => li.dataset.id)");
        return ids;
    }

    private static List<String> serverVoiceIds() {
        JsonArray list = server.get("/api/v1/audio/reference_audio?limit=1000").bodyAsJsonArray();
        return list.stream().map(o -> ((JsonObject) o).getString("id")).toList();
    }

    /** The file behind the page's download link, as the browser holds it. */
    private static byte[] download() {
        Object result = ((JavascriptExecutor) driver).executeAsyncScript("""
                const done = arguments[arguments.length - 1];
                fetch(document.getElementById('download').href)
                  .then(r => r.arrayBuffer())
                  .then(buffer => {
                    const bytes = new Uint8Array(buffer);
                    let binary = '';
                    for (let i = 0; i < bytes.length; i += 0x8000) {
                      binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
                    }
                    done(btoa(binary));
                  })
                  .catch(e => done('ERROR ' + e));
                """);
        String base64 = String.valueOf(result);
        assertFalse(base64.startsWith("ERROR"), base64);
        return Base64.getDecoder().decode(base64);
    }

    // ------------------------------------------------------------------ voice library

    @Test
    void uploadsAVoiceFromAFileAndPlaysIt() {
        open();
        element("voice-file").sendKeys(PROMPT.toAbsolutePath().toString());
        assertTrue(text("upload-source").contains("prompt.wav"), text("upload-source"));
        type("voice-text", PROMPT_TEXT);
        element("upload").click();
        waitFor(d -> text("upload-status").startsWith("Uploaded") || element("upload-error").isDisplayed());
        assertFalse(element("upload-error").isDisplayed(), text("upload-error"));

        List<String> server = serverVoiceIds();
        List<String> page = voiceIdsInList();
        assertEquals(server, page, "the page lists the server's voices, newest first");
        String uploaded = page.getFirst();
        WebElement item = driver.findElement(By.cssSelector("#voice-list li[data-id='" + uploaded + "']"));
        assertTrue(item.getText().contains("prompt.wav") && item.getText().contains(PROMPT_TEXT), item.getText());
        assertEquals(uploaded, new Select(element("voice")).getFirstSelectedOption().getAttribute("value"),
                "the new voice is selected for synthesis");
        chromium.screenshot("01-voice-uploaded");

        item.findElement(By.cssSelector("button.play")).click();
        WebElement player = item.findElement(By.tagName("audio"));
        waitFor(d -> ((Number) js("return arguments[0].currentTime", player)).doubleValue() > 0.2);
        assertTrue(player.isDisplayed());
        assertEquals(Boolean.FALSE, js("return arguments[0].paused || arguments[0].error !== null", player),
                "the stored voice plays");
        chromium.screenshot("02-voice-playing");
    }

    @Test
    void recordsAVoiceFromTheMicrophone() {
        open();
        int before = serverVoiceIds().size();
        element("record-start").click();
        waitFor(d -> element("record-stop").isEnabled());
        // Chromium's fake microphone plays a beep; record a little over two seconds of it
        waitFor(d -> SECONDS.matcher(text("record-status")).find() && seconds("record-status") >= 2);
        chromium.screenshot("03-recording");
        element("record-stop").click();
        waitFor(d -> text("record-status").startsWith("Recorded") || element("upload-error").isDisplayed());
        assertFalse(element("upload-error").isDisplayed(), text("upload-error"));
        double recorded = seconds("record-status");
        assertTrue(recorded > 1.5 && recorded < 10, "recorded " + recorded + " s");
        assertTrue(element("record-preview").isDisplayed());
        assertTrue(text("upload-source").matches("Will upload: recording-.*\\.wav .*"), text("upload-source"));

        type("voice-text", "A test recording.");
        element("upload").click();
        waitFor(d -> text("upload-status").startsWith("Uploaded") || element("upload-error").isDisplayed());
        assertFalse(element("upload-error").isDisplayed(), text("upload-error"));
        assertEquals(before + 1, serverVoiceIds().size());
        JsonObject stored = server.get("/api/v1/audio/reference_audio/" + voiceIdsInList().getFirst()).bodyAsJsonObject();
        assertTrue(stored.getString("filename").matches("recording-.*\\.wav"), stored.encode());
        assertEquals("A test recording.", stored.getString("text"));
        chromium.screenshot("04-recording-uploaded");
    }

    @Test
    void deletesAVoiceOnlyAfterConfirmation() {
        String doomed = server.uploadOk("doomed.wav", io.cosyvoice.audio.TestAudio.wav16(1.5, 16000), "to delete")
                .getString("id");
        open();
        By deleteButton = By.cssSelector("#voice-list li[data-id='" + doomed + "'] button.delete");
        driver.findElement(deleteButton).click();
        WebElement dialog = element("confirm-dialog");
        waitFor(d -> dialog.isDisplayed());
        assertTrue(text("confirm-text").contains("doomed.wav"), text("confirm-text"));
        chromium.screenshot("05-delete-confirmation");
        element("confirm-cancel").click();
        waitFor(d -> !dialog.isDisplayed());
        assertTrue(serverVoiceIds().contains(doomed), "cancel keeps the voice");

        // keyboard: Escape also cancels
        driver.findElement(deleteButton).click();
        waitFor(d -> dialog.isDisplayed());
        new Actions(driver).sendKeys(Keys.ESCAPE).perform();
        waitFor(d -> !dialog.isDisplayed());
        assertTrue(serverVoiceIds().contains(doomed), "Escape keeps the voice");

        driver.findElement(deleteButton).click();
        waitFor(d -> dialog.isDisplayed());
        element("confirm-delete").click();
        waitFor(d -> !voiceIdsInList().contains(doomed));
        assertFalse(serverVoiceIds().contains(doomed), "deleted on the server");
        assertEquals(404, server.get("/api/v1/audio/reference_audio/" + doomed).statusCode());
        assertTrue(text("voices-status").startsWith("Deleted doomed.wav"), text("voices-status"));
    }

    // ------------------------------------------------------------------ synthesis

    @ParameterizedTest(name = "{0} over {1} as {2} at {3} Hz")
    @CsvSource({
            "fast_replication, websocket, wav, 24000",
            "cross_lingual_replication, sse, mp3, 22050",
            "natural_language_replication, websocket, pcm, 16000",
            "fast_replication, sse, wav, 48000",
    })
    void synthesisesAndPlaysAsTheAudioStreams(String mode, String transport, String format, int sampleRate) throws Exception {
        open();
        new Select(element("voice")).selectByValue(voice);
        driver.findElement(By.cssSelector("input[name=mode][value=" + mode + "]")).click();
        assertEquals(mode.equals("natural_language_replication"), element("instruct").isDisplayed(),
                "the instruct field shows only for natural-language replication");
        if (mode.equals("natural_language_replication")) {
            type("instruct", "用四川话说");
        }
        type("text", "你好，世界。今天天气很好，我们去公园散步吧。");
        new Select(element("format")).selectByValue(format);
        assertEquals(format.equals("mp3"), element("bit-rate").isDisplayed(), "bit rate shows only for MP3");
        new Select(element("sample-rate")).selectByValue(String.valueOf(sampleRate));
        new Select(element("transport")).selectByValue(transport);
        type("speed", "1.0");
        type("volume", "1.5");
        element("synthesize").click();

        waitFor(d -> text("speech-status").startsWith("Done") || element("speech-error").isDisplayed());
        assertFalse(element("speech-error").isDisplayed(), text("speech-error"));
        double received = seconds("audio-received");
        assertTrue(received > 0.2, "received " + received + " s");
        double firstAudioMs = Double.parseDouble(text("first-audio").replace(" ms", ""));
        assertTrue(firstAudioMs > 0 && firstAudioMs < 60_000, text("first-audio"));
        double rtf = Double.parseDouble(text("rtf"));
        assertTrue(rtf > 0, text("rtf"));
        assertTrue(Integer.parseInt(text("chunks")) >= 1, text("chunks"));

        // the audio plays through Web Audio as it arrives: the played time grows up to what was received
        waitFor(d -> seconds("audio-played") > 0);
        chromium.screenshot("10-synthesis-" + mode + "-" + transport + "-" + format);

        // the download is a whole valid file of the chosen format holding what the page counted
        WebElement link = element("download");
        assertTrue(link.isDisplayed());
        assertTrue(link.getAttribute("download").endsWith("." + format), link.getAttribute("download"));
        byte[] file = download();
        DecodedAudio audio = SpeechTestSupport.decode(file, format, sampleRate);
        assertEquals(sampleRate, audio.sampleRate());
        // MP3 frames hold 576 samples at these rates, and the encoder pads its first and last frames
        double tolerance = format.equals("mp3") ? 0.15 : 0.002;
        assertEquals(audio.durationSeconds(), received, tolerance, "the page's received duration is the file's");
        if (format.equals("wav")) {
            long dataBytes = java.nio.ByteBuffer.wrap(file, 40, 4).order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt() & 0xFFFFFFFFL;
            assertEquals(file.length - 44, dataBytes, "the downloaded WAV has its real data size");
        }
        // all of it plays (MP3 chunks are decoded one by one: allow for the decoder's edges)
        double playable = format.equals("mp3") ? 0.9 * received : received - 0.01;
        waitFor(d -> seconds("audio-played") >= playable);
    }

    @ParameterizedTest
    @CsvSource({"websocket", "sse"})
    void playsWhileStreamingAndStopCancelsTheSynthesisOnTheServer(String transport) {
        open();
        new Select(element("voice")).selectByValue(voice);
        new Select(element("transport")).selectByValue(transport);
        StringBuilder text = new StringBuilder();
        for (int i = 1; i <= 80; i++) {
            text.append("这是第").append(i).append("句话，我们一起慢慢地读下去。");
        }
        js("document.getElementById('text').value = arguments[0]", text.toString());
        double cancelledBefore = cancelled(transport);
        element("synthesize").click();
        // playback starts with the first chunks, long before the synthesis ends
        waitFor(d -> element("speech-error").isDisplayed() || !text("audio-played").equals("–") && seconds("audio-played") > 0);
        assertFalse(element("speech-error").isDisplayed(), text("speech-error"));
        assertTrue(text("speech-status").startsWith("Synthesizing"), "still synthesising while it plays: " + text("speech-status"));
        chromium.screenshot("15-playing-while-streaming-" + transport);
        element("stop").click();
        waitFor(d -> text("speech-status").equals("Stopped."));
        assertFalse(element("speech-error").isDisplayed(), text("speech-error"));
        assertTrue(element("synthesize").isEnabled() && !element("stop").isEnabled());
        assertFalse(element("download").isDisplayed(), "no download of a stopped synthesis");
        waitFor(d -> cancelled(transport) > cancelledBefore); // the server freed its backend
    }

    private static double cancelled(String transport) {
        io.cosyvoice.support.PrometheusText metrics = io.cosyvoice.support.PrometheusText.parse(server.get("/metrics").bodyAsString());
        return metrics.value("cosyvoice_synthesis_requests_total", "api", transport, "outcome", "cancelled");
    }

    @Test
    void showsTheApiErrorsToTheUser() throws Exception {
        String gone = server.uploadOk("gone.wav", io.cosyvoice.audio.TestAudio.wav16(1.5, 16000), "soon gone").getString("id");
        open();
        new Select(element("voice")).selectByValue(gone);
        type("text", "你好。");
        // the voice is deleted elsewhere while the page still offers it
        assertEquals(200, server.delete("/api/v1/audio/reference_audio/" + gone).statusCode());

        new Select(element("transport")).selectByValue("websocket");
        element("synthesize").click();
        waitFor(d -> element("speech-error").isDisplayed());
        String overSocket = text("speech-error");
        assertTrue(overSocket.contains("NotFound") && overSocket.contains(gone), overSocket);
        chromium.screenshot("20-error-websocket-not-found");
        waitFor(d -> !voiceIdsInList().contains(gone)); // the page refreshed its list

        new Select(element("transport")).selectByValue("sse");
        type("speed", "3");
        element("synthesize").click();
        waitFor(d -> element("speech-error").isDisplayed() && !text("speech-error").equals(overSocket));
        String overSse = text("speech-error");
        assertTrue(overSse.contains("InvalidParameter") && overSse.contains("speed") && overSse.contains("HTTP 400")
                && overSse.contains("request id"), overSse);
        chromium.screenshot("21-error-sse-invalid-speed");

        // an upload the server refuses: a text file named .wav
        Path notAudio = Files.createTempFile("notes", ".wav");
        Files.writeString(notAudio, "these are notes, not audio ".repeat(50));
        element("voice-file").sendKeys(notAudio.toAbsolutePath().toString());
        element("upload").click();
        waitFor(d -> element("upload-error").isDisplayed());
        assertTrue(text("upload-error").contains("transcript"), "the page asks for the transcript first: " + text("upload-error"));
        type("voice-text", "notes");
        element("upload").click();
        waitFor(d -> element("upload-error").isDisplayed() && text("upload-error").contains("HTTP 4"));
        String refused = text("upload-error");
        assertTrue(refused.startsWith("Upload failed: file") && refused.contains("request id"), refused);
        chromium.screenshot("23-error-upload-not-audio");
        Files.delete(notAudio);

        // a wrong token: the list says so and points at the token field
        open("not-the-token");
        waitFor(d -> element("voices-error").isDisplayed());
        String unauthorized = text("voices-error");
        assertTrue(unauthorized.contains("Unauthorized") && unauthorized.contains("HTTP 401") && unauthorized.contains("token"),
                unauthorized);
        chromium.screenshot("22-error-wrong-token");
        new Select(element("transport")).selectByValue("websocket");
        type("text", "你好。");
        // no voices listed with a wrong token: the page says what is missing before calling the API
        element("synthesize").click();
        waitFor(d -> element("speech-error").isDisplayed());
        assertTrue(text("speech-error").contains("Choose a voice"), text("speech-error"));
    }

    @Test
    void keepsTheTokenInTheBrowser() {
        driver.get(server.baseUrl() + "/");
        js("localStorage.clear()");
        driver.navigate().refresh();
        assertTrue(text("voices-status").contains("Enter the API token"), text("voices-status"));
        type("token", TestServer.TOKEN);
        element("token").sendKeys(Keys.ENTER);
        waitFor(d -> text("token-status").contains("saved"));
        waitFor(d -> voiceIdsInList().contains(voice));
        driver.navigate().refresh();
        assertEquals(TestServer.TOKEN, element("token").getAttribute("value"));
        waitFor(d -> voiceIdsInList().contains(voice));
        element("token-forget").click();
        assertEquals(null, js("return localStorage.getItem('cosyvoice.token')"));
        assertEquals("", element("token").getAttribute("value"));
    }

    // ------------------------------------------------------------------ accessibility and phones

    @Test
    void everyControlIsLabelledAndReachableByKeyboard() {
        open();
        @SuppressWarnings("unchecked")
        List<String> unlabelled = (List<String>) js("""
                return [...document.querySelectorAll('input, select, textarea')]
                  .filter(e => e.type !== 'hidden' && e.labels.length === 0 && !e.getAttribute('aria-label'))
                  .map(e => e.id || e.name || e.outerHTML);
                """);
        assertEquals(List.of(), unlabelled, "form controls without a label");
        @SuppressWarnings("unchecked")
        List<String> nameless = (List<String>) js("""
                return [...document.querySelectorAll('button, a')]
                  .filter(e => !(e.getAttribute('aria-label') || e.textContent).trim())
                  .map(e => e.outerHTML);
                """);
        assertEquals(List.of(), nameless, "buttons and links without a name");

        // Tab from the top reaches the synthesise button, and Enter in the form starts a synthesis
        js("document.activeElement.blur()");
        boolean reached = false;
        for (int i = 0; i < 80 && !reached; i++) {
            new Actions(driver).sendKeys(Keys.TAB).perform();
            reached = "synthesize".equals(driver.switchTo().activeElement().getAttribute("id"));
        }
        assertTrue(reached, "Tab reaches the Synthesize button");
        new Select(element("voice")).selectByValue(voice);
        type("text", "你好。");
        element("seed").sendKeys("7", Keys.ENTER);
        waitFor(d -> text("speech-status").startsWith("Done") || element("speech-error").isDisplayed());
        assertFalse(element("speech-error").isDisplayed(), text("speech-error"));
    }

    @Test
    void fitsAPhoneScreen() {
        chromium.resize(390, 844);
        try {
            open();
            Number overflow = (Number) js("return document.documentElement.scrollWidth - window.innerWidth");
            assertTrue(overflow.intValue() <= 0, "no horizontal scrolling on a phone: " + overflow + " px too wide");
            Number synthesisLeft = (Number) js("return document.getElementById('synthesis').getBoundingClientRect().left");
            Number voicesLeft = (Number) js("return document.getElementById('voices').getBoundingClientRect().left");
            assertEquals(voicesLeft.intValue(), synthesisLeft.intValue(), "one column on a phone");
            chromium.screenshot("30-phone");
        } finally {
            chromium.resize(1280, 1000);
        }
        open();
        Number synthesisLeft = (Number) js("return document.getElementById('synthesis').getBoundingClientRect().left");
        Number voicesLeft = (Number) js("return document.getElementById('voices').getBoundingClientRect().left");
        assertTrue(synthesisLeft.intValue() > voicesLeft.intValue(), "two columns on a desktop");
        chromium.screenshot("31-desktop");
    }
}
