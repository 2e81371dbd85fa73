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
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.MessageCodec;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.UUID;
import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * Event-bus codecs of the contract's records. Inside one process a record is delivered as it is,
 * without a copy (audio chunks are hundreds of kilobytes a second per stream); between the
 * processes of a cluster it travels in a compact binary form, every field length-prefixed.
 */
final class MessageCodecs {

    private static final List<Codec<?>> CODECS = List.of(
            new Codec<>(Job.class, MessageCodecs::writeJob, MessageCodecs::readJob),
            new Codec<>(Accepted.class, (out, m) -> {
                out.string(m.inputAddress());
                out.bool(m.speedApplied());
                out.bool(m.promptKept());
                writeCapacity(out, m.capacity());
            }, in -> new Accepted(in.string(), in.bool(), in.bool(), readCapacity(in))),
            new Codec<>(MoreText.class, (out, m) -> {
                out.strings(m.sentences());
                out.bool(m.last());
            }, in -> new MoreText(in.strings(), in.bool())),
            new Codec<>(Credit.class, (out, m) -> out.integer(m.chunks()), in -> new Credit(in.integer())),
            new Codec<>(Cancel.class, (out, m) -> out.string(m.reason()), in -> new Cancel(in.string())),
            new Codec<>(Chunk.class, (out, m) -> {
                out.int64(m.sequence());
                out.integer(m.sentenceIndex());
                out.floats(m.samples());
                out.float64(m.generateSeconds());
            }, in -> new Chunk(in.int64(), in.integer(), in.floats(), in.float64())),
            new Codec<>(End.class, (out, m) -> out.int64(m.chunks()), in -> new End(in.int64())),
            new Codec<>(Failure.class, (out, m) -> {
                out.string(m.code().name());
                out.string(m.message());
            }, in -> new Failure(ErrorCode.valueOf(in.string()), in.string())),
            new Codec<>(EngineQuery.class, (out, m) -> { }, in -> new EngineQuery()),
            new Codec<>(EngineInfo.class, (out, m) -> {
                out.string(m.modelVersion());
                out.string(m.description());
                out.bool(m.randomWeights());
            }, in -> new EngineInfo(in.string(), in.string(), in.bool())),
            new Codec<>(PromptRequest.class, (out, m) -> {
                out.floats(m.samples());
                out.integer(m.sampleRate());
            }, in -> new PromptRequest(in.floats(), in.integer())),
            new Codec<>(PromptFeatures.class, MessageCodecs::writePrompt, MessageCodecs::readPrompt),
            new Codec<>(Capacity.class, MessageCodecs::writeCapacity, MessageCodecs::readCapacity));

    private MessageCodecs() {
    }

    /** Registers the codecs on this Vert.x instance (once; later calls do nothing). */
    @SuppressWarnings({"unchecked", "rawtypes"})
    static synchronized void registerAll(Vertx vertx) {
        for (Codec<?> codec : CODECS) {
            try {
                vertx.eventBus().registerDefaultCodec((Class) codec.type, codec);
            } catch (IllegalStateException alreadyRegistered) {
                // another component of this process registered them first
            }
        }
    }

    /** The codec of a record type (the one {@link #registerAll} registers). */
    @SuppressWarnings("unchecked")
    static <T> MessageCodec<T, T> codec(Class<T> type) {
        return (MessageCodec<T, T>) CODECS.stream().filter(c -> c.type == type).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no codec for " + type));
    }

    private static void writeCapacity(Writer out, Capacity capacity) {
        out.string(capacity.nodeId());
        out.integer(capacity.free());
        out.integer(capacity.total());
        out.bool(capacity.draining());
        out.int64(capacity.version());
    }

    private static Capacity readCapacity(Reader in) {
        return new Capacity(in.string(), in.integer(), in.integer(), in.bool(), in.int64());
    }

    private static void writeJob(Writer out, Job job) {
        out.string(job.jobId());
        out.string(job.outputAddress());
        out.string(job.origin());
        out.string(job.voiceId().toString());
        out.string(job.promptText());
        out.bool(job.prompt() != null);
        if (job.prompt() != null) {
            writePrompt(out, job.prompt());
        }
        out.bool(job.promptWithheld());
        out.string(job.mode().name());
        out.string(job.instruct());
        out.bool(job.seed().isPresent());
        out.int64(job.seed().orElse(0));
        out.float64(job.speed());
        out.strings(job.sentences());
        out.bool(job.textComplete());
        out.integer(job.initialCredits());
        out.bool(job.streaming());
    }

    private static Job readJob(Reader in) {
        String jobId = in.string();
        String output = in.string();
        String origin = in.string();
        UUID voice = UUID.fromString(in.string());
        String promptText = in.string();
        PromptFeatures prompt = in.bool() ? readPrompt(in) : null;
        boolean promptWithheld = in.bool();
        SynthesisMode mode = SynthesisMode.valueOf(in.string());
        String instruct = in.string();
        boolean seeded = in.bool();
        long seed = in.int64();
        return new Job(jobId, output, origin, voice, promptText, prompt, promptWithheld, mode, instruct,
                seeded ? OptionalLong.of(seed) : OptionalLong.empty(), in.float64(), in.strings(), in.bool(), in.integer(),
                in.bool());
    }

    private static void writePrompt(Writer out, PromptFeatures prompt) {
        out.string(prompt.modelVersion());
        out.ints(prompt.speechTokens());
        out.floats(prompt.speakerEmbedding());
        out.floats(prompt.promptMel());
        out.integer(prompt.promptMelFrames());
    }

    private static PromptFeatures readPrompt(Reader in) {
        return new PromptFeatures(in.string(), in.ints(), in.floats(), in.floats(), in.integer());
    }

    /** One record type: zero-copy locally, {@code write}/{@code read} on the wire. */
    private static final class Codec<T> implements MessageCodec<T, T> {
        private final Class<T> type;
        private final BiConsumer<Writer, T> write;
        private final Function<Reader, T> read;

        Codec(Class<T> type, BiConsumer<Writer, T> write, Function<Reader, T> read) {
            this.type = type;
            this.write = write;
            this.read = read;
        }

        @Override
        public void encodeToWire(Buffer buffer, T message) {
            Writer out = new Writer();
            write.accept(out, message);
            buffer.appendInt(out.body.length());
            buffer.appendBuffer(out.body);
        }

        @Override
        public T decodeFromWire(int pos, Buffer buffer) {
            int length = buffer.getInt(pos);
            return read.apply(new Reader(buffer.slice(pos + 4, pos + 4 + length)));
        }

        @Override
        public T transform(T message) {
            return message; // records are immutable: the receiver in this process gets the same object
        }

        @Override
        public String name() {
            return "cosyvoice-" + type.getSimpleName();
        }

        @Override
        public byte systemCodecID() {
            return -1;
        }
    }

    private static final class Writer {
        final Buffer body = Buffer.buffer(256);

        void integer(int v) {
            body.appendInt(v);
        }

        void int64(long v) {
            body.appendLong(v);
        }

        void float64(double v) {
            body.appendDouble(v);
        }

        void bool(boolean v) {
            body.appendByte((byte) (v ? 1 : 0));
        }

        void string(String v) {
            byte[] bytes = v.getBytes(StandardCharsets.UTF_8);
            body.appendInt(bytes.length);
            body.appendBytes(bytes);
        }

        void strings(List<String> v) {
            body.appendInt(v.size());
            v.forEach(this::string);
        }

        void floats(float[] v) {
            ByteBuffer bytes = ByteBuffer.allocate(v.length * Float.BYTES).order(ByteOrder.BIG_ENDIAN);
            bytes.asFloatBuffer().put(v);
            body.appendInt(v.length);
            body.appendBytes(bytes.array());
        }

        void ints(int[] v) {
            ByteBuffer bytes = ByteBuffer.allocate(v.length * Integer.BYTES).order(ByteOrder.BIG_ENDIAN);
            bytes.asIntBuffer().put(v);
            body.appendInt(v.length);
            body.appendBytes(bytes.array());
        }
    }

    private static final class Reader {
        private final Buffer in;
        private int pos;

        Reader(Buffer in) {
            this.in = in;
        }

        int integer() {
            int v = in.getInt(pos);
            pos += 4;
            return v;
        }

        long int64() {
            long v = in.getLong(pos);
            pos += 8;
            return v;
        }

        double float64() {
            double v = in.getDouble(pos);
            pos += 8;
            return v;
        }

        boolean bool() {
            return in.getByte(pos++) != 0;
        }

        String string() {
            int length = integer();
            String v = in.getString(pos, pos + length, StandardCharsets.UTF_8.name());
            pos += length;
            return v;
        }

        List<String> strings() {
            int n = integer();
            List<String> v = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                v.add(string());
            }
            return v;
        }

        float[] floats() {
            int n = integer();
            float[] v = new float[n];
            ByteBuffer.wrap(in.getBytes(pos, pos + n * Float.BYTES)).order(ByteOrder.BIG_ENDIAN).asFloatBuffer().get(v);
            pos += n * Float.BYTES;
            return v;
        }

        int[] ints() {
            int n = integer();
            int[] v = new int[n];
            ByteBuffer.wrap(in.getBytes(pos, pos + n * Integer.BYTES)).order(ByteOrder.BIG_ENDIAN).asIntBuffer().get(v);
            pos += n * Integer.BYTES;
            return v;
        }
    }
}
