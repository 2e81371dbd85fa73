package io.cosyvoice.engine;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;
import java.util.Map;

/**
 * A model directory's {@code model.json} (contract {@value ModelDirectory#CONTRACT}; see
 * models/README.md). Unknown fields are ignored so a directory can carry more than this runtime reads.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record ModelConfig(
        String contract,
        Model model,
        Audio audio,
        Text text,
        Llm llm,
        Sampling sampling,
        Flow flow,
        Hift hift,
        Streaming streaming,
        Map<String, FileEntry> files) {

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Model(String name, String variant, @JsonProperty("random_weights") boolean randomWeights,
            String version, @JsonProperty("created_by") String createdBy) {}

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Audio(@JsonProperty("sample_rate") int sampleRate, @JsonProperty("token_rate") int tokenRate,
            @JsonProperty("token_mel_ratio") int tokenMelRatio,
            @JsonProperty("samples_per_mel_frame") int samplesPerMelFrame,
            @JsonProperty("max_prompt_seconds") double maxPromptSeconds) {}

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Text(String endofprompt) {}

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Llm(@JsonProperty("hidden_size") int hiddenSize, @JsonProperty("num_layers") int numLayers,
            @JsonProperty("num_heads") int numHeads, @JsonProperty("num_kv_heads") int numKvHeads,
            @JsonProperty("head_dim") int headDim, @JsonProperty("max_position") int maxPosition,
            @JsonProperty("text_vocab") int textVocab, @JsonProperty("speech_token_size") int speechTokenSize,
            int sos, @JsonProperty("task_id") int taskId, int eos, int fill,
            @JsonProperty("stop_tokens") List<Integer> stopTokens,
            Quantization quantization) {

        /** Rows of the speech embedding table and width of the logits: tokens plus eos, a spare and fill. */
        public int speechVocab() {
            return speechTokenSize + 3;
        }

        /** "fp32", or "int4" / "int8" when the layer weights are quantised. */
        public String weights() {
            return quantization == null ? "fp32" : "int" + quantization.bits();
        }
    }

    /**
     * Optional {@code llm.quantization}: the layers' MatMuls of {@code llm.onnx} are
     * {@code com.microsoft.MatMulNBits} with these bits and block size (models/quantize.py). Null
     * when the LLM is float32.
     */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Quantization(int bits, @JsonProperty("block_size") int blockSize, boolean symmetric,
            @JsonProperty("accuracy_level") int accuracyLevel) {}

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Sampling(@JsonProperty("top_p") double topP, @JsonProperty("top_k") int topK,
            @JsonProperty("win_size") int winSize, @JsonProperty("tau_r") double tauR,
            @JsonProperty("min_token_text_ratio") double minTokenTextRatio,
            @JsonProperty("max_token_text_ratio") double maxTokenTextRatio) {}

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Flow(@JsonProperty("vocab_size") int vocabSize, @JsonProperty("mel_bins") int melBins,
            @JsonProperty("spk_embed_dim") int spkEmbedDim, @JsonProperty("pre_lookahead_len") int preLookaheadLen,
            @JsonProperty("static_chunk_size") int staticChunkSize, @JsonProperty("n_timesteps") int nTimesteps,
            @JsonProperty("t_scheduler") String tScheduler, @JsonProperty("cfg_rate") double cfgRate,
            @JsonProperty("noise_frames") int noiseFrames) {}

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Hift(@JsonProperty("upsample_rates") List<Integer> upsampleRates,
            @JsonProperty("istft_n_fft") int istftNFft, @JsonProperty("istft_hop") int istftHop,
            @JsonProperty("nb_harmonics") int nbHarmonics, @JsonProperty("audio_limit") double audioLimit) {}

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Streaming(@JsonProperty("token_hop_len") int tokenHopLen,
            @JsonProperty("token_max_hop_len") int tokenMaxHopLen,
            @JsonProperty("stream_scale_factor") int streamScaleFactor,
            @JsonProperty("mel_cache_len") int melCacheLen, @JsonProperty("source_cache_len") int sourceCacheLen) {}

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record FileEntry(String sha256, long bytes) {}
}
