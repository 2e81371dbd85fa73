package io.cosyvoice.engine;

import ai.onnxruntime.OrtException;
import java.util.Arrays;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * One request's way from speech tokens to audio (models/README.md, "Streaming schedule"), fed
 * token by token as the LLM produces them. Streaming: a chunk as soon as the hop schedule allows
 * (first hop 25 + prompt pad, then doubling to 100, each with 3 tokens of look-ahead), carrying the
 * mel cache, HiFT's source cache and a cross-faded, held-back tail between chunks. Non-streaming:
 * one chunk at {@link #finish()}. Not thread-safe: one request, one thread at a time.
 */
final class SpeechStream {

    private final TokenToSpeech model;
    private final FlowMatching flow;
    private final HiftVocoder hift;
    private final FlowPrompt prompt;
    private final boolean stream;
    private final double speed;
    private final Consumer<float[]> sink;
    private final Consumer<Mel> melSink;
    private final BooleanSupplier cancelled;
    private final SplitMix64 vocoderRng;
    private final int lookahead;
    private final int pad;
    private final int maxTokens;
    private final int melCacheLen;
    private final int sourceCacheLen;

    private int[] tokens = new int[128];
    private int count;
    private int offset;
    private int hop;
    private Mel melCache;
    private float[] sourceCache = new float[0];
    private float[] heldBack;
    private boolean finished;
    private boolean failed;
    private long samples;
    private int chunks;
    private long flowNanos;
    private long hiftNanos;

    SpeechStream(TokenToSpeech model, FlowPrompt prompt, long seed, boolean stream, double speed,
            Consumer<float[]> sink, Consumer<Mel> melSink, BooleanSupplier cancelled) {
        if (!(speed > 0) || Double.isInfinite(speed)) {
            throw new IllegalArgumentException("speed must be a positive number, got " + speed);
        }
        this.model = model;
        this.flow = model.flow();
        this.hift = model.hift();
        this.prompt = prompt;
        this.stream = stream;
        this.speed = speed;
        this.sink = sink;
        this.melSink = melSink;
        this.cancelled = cancelled;
        this.vocoderRng = SplitMix64.vocoder(seed);
        this.lookahead = flow.lookaheadLength();
        ModelConfig.Streaming s = model.streaming();
        this.hop = s.tokenHopLen();
        int p = prompt.tokenCount();
        this.pad = (p + hop - 1) / hop * hop - p; // the first chunk ends on a 25-token boundary of prompt + speech
        this.maxTokens = flow.maxTokens() - p;
        this.melCacheLen = s.melCacheLen();
        this.sourceCacheLen = s.sourceCacheLen();
        if (maxTokens < 0) {
            throw new IllegalArgumentException("the prompt's " + p + " tokens leave no room in the flow noise");
        }
    }

    /**
     * The next generated speech token; runs a chunk when one is due: flow and HiFT on this thread, or
     * on the vocoder batchers' threads while this thread waits (leaving with a
     * {@link java.util.concurrent.CancellationException} once {@code cancelled} says so).
     */
    void offer(int token) throws OrtException {
        checkOpen();
        if (token < 0 || token >= flow.vocab()) {
            throw new IllegalArgumentException("speech token " + token + " outside [0, " + flow.vocab() + ")");
        }
        if (count == maxTokens) {
            throw new IllegalStateException("more than " + maxTokens + " speech tokens: the flow noise has no frames for them");
        }
        if (count == tokens.length) {
            tokens = Arrays.copyOf(tokens, 2 * count);
        }
        tokens[count++] = token;
        if (stream) {
            int thisHop = offset == 0 ? hop + pad : hop;
            if (count - offset >= thisHop + lookahead) {
                chunk(offset + thisHop, false, model.staticChunk());
                offset += thisHop;
                hop = Math.min(model.streaming().tokenMaxHopLen(), hop * model.streaming().streamScaleFactor());
            }
        }
    }

    /** No more tokens: the final chunk (all remaining tokens, no look-ahead, full attention), nothing held back. */
    void finish() throws OrtException {
        checkOpen();
        finished = true;
        chunk(count, true, 0);
    }

    private void checkOpen() {
        if (failed) {
            throw new IllegalStateException("this speech stream failed earlier");
        }
        if (finished) {
            throw new IllegalStateException("this speech stream is finished");
        }
    }

    private void chunk(int upto, boolean last, int attentionChunk) throws OrtException {
        if (upto == offset && melCache == null) {
            return; // no tokens at all: the reference's flow call would give zero frames
        }
        failed = true; // until this chunk has gone through: a half-run chunk leaves the caches inconsistent
        long t0 = System.nanoTime();
        Mel mel = flow.generate(prompt, tokens, upto, offset, !last, attentionChunk, cancelled);
        long t1 = System.nanoTime();
        flowNanos += t1 - t0;
        melSink.accept(mel);
        if (speed != 1.0) {
            mel = mel.resize((int) (mel.frames() / speed));
        }
        if (melCache != null) {
            mel = melCache.append(mel);
        }
        if (mel.frames() == 0) { // only a non-streaming request sped up to nothing
            failed = false;
            return;
        }
        HiftVocoder.Output out = hift.run(mel, sourceCache, vocoderRng, cancelled);
        hiftNanos += System.nanoTime() - t1;
        float[] speech = out.speech();
        if (heldBack != null) {
            // symmetric Hamming: rising half on the new audio, falling half on the held-back tail, in float64
            int n = Math.min(sourceCacheLen, Math.min(speech.length, heldBack.length));
            for (int i = 0; i < n; i++) {
                speech[i] = (float) (speech[i] * model.crossFade(i) + heldBack[i] * model.crossFade(sourceCacheLen + i));
            }
        }
        if (!last) {
            melCache = mel.last(melCacheLen);
            float[] source = out.source();
            sourceCache = Arrays.copyOfRange(source, Math.max(0, source.length - sourceCacheLen), source.length);
            int keep = Math.max(0, speech.length - sourceCacheLen);
            heldBack = Arrays.copyOfRange(speech, keep, speech.length);
            speech = Arrays.copyOf(speech, keep);
        }
        failed = false;
        if (speech.length > 0) {
            samples += speech.length;
            chunks++;
            sink.accept(speech);
        }
    }

    /** Speech tokens received so far. */
    int tokenCount() {
        return count;
    }

    /** Audio samples handed to the sink so far. */
    long samplesEmitted() {
        return samples;
    }

    double secondsEmitted() {
        return samples / (double) model.sampleRate();
    }

    int chunksEmitted() {
        return chunks;
    }

    boolean isFinished() {
        return finished;
    }

    long flowNanos() {
        return flowNanos;
    }

    long hiftNanos() {
        return hiftNanos;
    }
}
