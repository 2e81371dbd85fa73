package io.cosyvoice.synthesis;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.MessageCodec;

import java.util.List;

/**
 * Delivers the contract's records inside one process without copying them (audio chunks are
 * hundreds of kilobytes a second per stream). Sending them to another process needs a wire codec,
 * which the clustering issue adds; until then such a send fails loudly.
 */
final class LocalCodec<T> implements MessageCodec<T, T> {

    private static final List<Class<?>> TYPES = List.of(
            SynthesisMessages.Job.class, SynthesisMessages.Accepted.class, SynthesisMessages.MoreText.class,
            SynthesisMessages.Credit.class, SynthesisMessages.Cancel.class, SynthesisMessages.Chunk.class,
            SynthesisMessages.End.class, SynthesisMessages.Failure.class, SynthesisMessages.EngineQuery.class,
            SynthesisMessages.EngineInfo.class, SynthesisMessages.PromptRequest.class,
            io.cosyvoice.voice.PromptFeatures.class);

    private final String name;

    private LocalCodec(Class<T> type) {
        this.name = "cosyvoice-local-" + type.getSimpleName();
    }

    /** Registers the codecs on this Vert.x instance (once; later calls do nothing). */
    @SuppressWarnings({"unchecked", "rawtypes"})
    static synchronized void registerAll(Vertx vertx) {
        for (Class<?> type : TYPES) {
            try {
                vertx.eventBus().registerDefaultCodec((Class) type, new LocalCodec(type));
            } catch (IllegalStateException alreadyRegistered) {
                // another component of this process registered them first
            }
        }
    }

    @Override
    public void encodeToWire(Buffer buffer, T message) {
        throw new UnsupportedOperationException("synthesis messages are local to one process for now");
    }

    @Override
    public T decodeFromWire(int pos, Buffer buffer) {
        throw new UnsupportedOperationException("synthesis messages are local to one process for now");
    }

    @Override
    public T transform(T message) {
        return message;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public byte systemCodecID() {
        return -1;
    }
}
