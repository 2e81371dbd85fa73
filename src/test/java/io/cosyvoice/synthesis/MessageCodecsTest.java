package io.cosyvoice.synthesis;

import io.cosyvoice.error.ErrorCode;
import io.cosyvoice.synthesis.SynthesisMessages.Accepted;
import io.cosyvoice.synthesis.SynthesisMessages.Cancel;
import io.cosyvoice.synthesis.SynthesisMessages.Capacity;
import io.cosyvoice.synthesis.SynthesisMessages.Chunk;
import io.cosyvoice.synthesis.SynthesisMessages.Credit;
import io.cosyvoice.synthesis.SynthesisMessages.End;
import io.cosyvoice.synthesis.SynthesisMessages.EngineInfo;
import io.cosyvoice.synthesis.SynthesisMessages.EngineQuery;
import io.cosyvoice.synthesis.SynthesisMessages.Failure;
import io.cosyvoice.synthesis.SynthesisMessages.Job;
import io.cosyvoice.synthesis.SynthesisMessages.MoreText;
import io.cosyvoice.synthesis.SynthesisMessages.PromptRequest;
import io.cosyvoice.voice.PromptFeatures;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.MessageCodec;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.OptionalLong;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The contract's records through the codecs Vert.x uses for them: the same object inside one
 * process, equal field by field after the wire form a cluster sends between processes.
 */
class MessageCodecsTest {

    @SuppressWarnings("unchecked")
    private static <T> T wire(T message) {
        MessageCodec<T, T> codec = MessageCodecs.codec((Class<T>) message.getClass());
        assertSame(message, codec.transform(message), "local delivery does not copy");
        Buffer buffer = Buffer.buffer().appendString("header");
        codec.encodeToWire(buffer, message);
        buffer.appendString("trailer"); // the body knows its own length
        return codec.decodeFromWire(6, buffer);
    }

    @Test
    void everyRecordCrossesTheWire() {
        PromptFeatures prompt = new PromptFeatures("v1-abc", new int[]{1, 6560, 3}, new float[]{0.5f, -1.25f},
                new float[]{1, 2, 3, 4, 5, 6}, 2);
        Job job = new Job("job-1", "out.job-1", "node-7", UUID.randomUUID(), "希望你以后能够做得比我还好哟", prompt, false,
                SynthesisMode.INSTRUCT, "用四川话说", OptionalLong.of(-42), 1.25, List.of("你好。", "world"), false, 4, true);
        Job back = wire(job);
        assertEquals(job.jobId(), back.jobId());
        assertEquals(job.outputAddress(), back.outputAddress());
        assertEquals(job.origin(), back.origin());
        assertEquals(job.voiceId(), back.voiceId());
        assertEquals(job.promptText(), back.promptText());
        assertEquals(job.mode(), back.mode());
        assertEquals(job.instruct(), back.instruct());
        assertEquals(job.seed(), back.seed());
        assertEquals(job.speed(), back.speed());
        assertEquals(job.sentences(), back.sentences());
        assertEquals(job.textComplete(), back.textComplete());
        assertEquals(job.initialCredits(), back.initialCredits());
        assertEquals(job.streaming(), back.streaming());
        assertPrompt(prompt, back.prompt());
        assertFalse(back.promptWithheld());

        Job bare = wire(new Job("j", "o", "", UUID.randomUUID(), "", null, false, SynthesisMode.ZERO_SHOT, "", OptionalLong.empty(),
                1.0, List.of(), true, 1, false));
        assertNull(bare.prompt());
        assertFalse(bare.promptWithheld());
        assertEquals(OptionalLong.empty(), bare.seed());

        // withheld features: the job says so, and carries everything else
        Job withheld = wire(job.withholdingPrompt());
        assertNull(withheld.prompt());
        assertTrue(withheld.promptWithheld());
        assertEquals(job.voiceId(), withheld.voiceId());
        assertEquals(job.sentences(), withheld.sentences());
        assertEquals(job.streaming(), withheld.streaming());

        assertPrompt(prompt, wire(prompt));
        Chunk chunk = new Chunk(7, 2, new float[]{0.1f, -0.9f, Float.MIN_VALUE}, 0.25);
        Chunk chunkBack = wire(chunk);
        assertEquals(chunk.sequence(), chunkBack.sequence());
        assertEquals(chunk.sentenceIndex(), chunkBack.sentenceIndex());
        assertArrayEquals(chunk.samples(), chunkBack.samples());
        assertEquals(chunk.generateSeconds(), chunkBack.generateSeconds());
        PromptRequest request = wire(new PromptRequest(new float[]{0.25f, 0.5f}, 44100));
        assertArrayEquals(new float[]{0.25f, 0.5f}, request.samples());
        assertEquals(44100, request.sampleRate());

        for (Object record : List.of(new Accepted("in.1", true, false, new Capacity("node-1", 4, 48, false, 7)), new Accepted("in.2", false, true, new Capacity("node-2", 0, 8, true, 1L << 40)), new MoreText(List.of("a", "b"), true), new Credit(3),
                new Cancel("client gone"), new End(12), new Failure(ErrorCode.SERVICE_UNAVAILABLE, "backend stopped"),
                new EngineQuery(), new EngineInfo("v1", "tiny twin", true), new Capacity("node-1", 5, 48, false, 12))) {
            assertEquals(record, wire(record));
        }
    }

    /** What a frontend saves per job when a backend keeps the voice's features: nearly all of it. */
    @Test
    void aJobWithoutItsPromptFeaturesIsAFewHundredBytesOnTheWire() {
        // a 10 s voice: 25 speech tokens and 50 mel frames of 80 bins a second, a 192-value speaker embedding
        PromptFeatures tenSeconds = new PromptFeatures("v1", new int[250], new float[192], new float[500 * 80], 500);
        Job job = new Job(UUID.randomUUID().toString(), "cosyvoice.synthesis.output." + UUID.randomUUID(),
                UUID.randomUUID().toString(), UUID.randomUUID(), "希望你以后能够做得比我还好哟", tenSeconds, false,
                SynthesisMode.ZERO_SHOT, "", OptionalLong.empty(), 1.0, List.of("今天天气很好，我们去公园散步吧。"), true, 4, true);
        int carried = wireBytes(job);
        int withheld = wireBytes(job.withholdingPrompt());
        assertTrue(carried > 160_000, carried + " bytes");
        assertTrue(withheld < 400, withheld + " bytes");
        assertSame(job, MessageCodecs.codec(Job.class).transform(job), "in one process nothing is copied either way");
    }

    private static int wireBytes(Job job) {
        Buffer buffer = Buffer.buffer();
        MessageCodecs.codec(Job.class).encodeToWire(buffer, job);
        return buffer.length();
    }

    private static void assertPrompt(PromptFeatures expected, PromptFeatures actual) {
        assertEquals(expected.modelVersion(), actual.modelVersion());
        assertArrayEquals(expected.speechTokens(), actual.speechTokens());
        assertArrayEquals(expected.speakerEmbedding(), actual.speakerEmbedding());
        assertArrayEquals(expected.promptMel(), actual.promptMel());
        assertEquals(expected.promptMelFrames(), actual.promptMelFrames());
    }
}
