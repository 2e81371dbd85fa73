"""Random-weight twins of CosyVoice2's speech-token language model (``Qwen2LM``).

``make_twin_lm(size, text_vocab, seed)`` returns a module with the attribute layout of the
official ``cosyvoice.llm.llm.Qwen2LM`` (so ``llm.export_llm`` works unchanged on either):

    lm.llm.model                 transformers Qwen2ForCausalLM (embed_tokens, layers, norm, config)
    lm.llm_embedding             Embedding(2, hidden): row 0 sos, row 1 task_id
    lm.speech_embedding          Embedding(speech_token_size + 3, hidden)
    lm.llm_decoder               Linear(hidden, speech_token_size + 3)
    lm.speech_token_size         6561

The weights are random but deterministic in ``seed``, with a built-in end-of-speech mechanism so
that the number of generated speech tokens follows the text length, as a trained model's would:

* residual dimension ``COUNT_DIM`` of every embedding row carries a "counter" value: ``+1`` for
  text tokens, ``-1/TOKENS_PER_TEXT`` for speech tokens, ``0`` for sos / task_id. All rows have
  the same norm (``sqrt(hidden)``), so layer 0's RMSNorm scales every position alike.
* in layer 0 the last query head has zero query weights and bias: its scores are all zero, so it
  attends uniformly over the causal prefix. Its kv head's value channel 0 reads ``COUNT_DIM`` and
  ``o_proj`` writes that running mean into residual dimension ``EOS_DIM``; no other projection
  writes ``COUNT_DIM`` or ``EOS_DIM``. The mean is ``(n_text - n_speech / k) / n``: positive while
  speech is short, crossing zero at ``n_speech = k * n_text``.
* the eos row of ``llm_decoder`` reads only ``EOS_DIM`` with a large negative gain, so eos becomes
  likely once the speech tokens outnumber ``k`` times the text tokens. The two other stop tokens
  get a very negative bias (never sampled).
* every other weight is small Gaussian noise: speech-token logits are a context-dependent random
  distribution (a few tens of plausible next tokens), so RAS sampling is non-degenerate.
"""
from __future__ import annotations

import math

import torch

SPEECH_TOKEN_SIZE = 6561

LLM_SPECS = {
    # Tiny: GroupQueryAttention (CPU) needs head_dim % 8 == 0, so 8 is the smallest head.
    "tiny": dict(hidden_size=32, num_layers=2, num_heads=4, num_kv_heads=2, head_dim=8,
                 intermediate_size=64, rope_theta=1000000.0, max_position=32768, rms_norm_eps=1e-6),
    # Full: the real Qwen2-0.5B shape used by CosyVoice2-0.5B.
    "full": dict(hidden_size=896, num_layers=24, num_heads=14, num_kv_heads=2, head_dim=64,
                 intermediate_size=4864, rope_theta=1000000.0, max_position=32768, rms_norm_eps=1e-6),
}

# The end-of-speech mechanism (see the module docstring).
COUNT_DIM = 0           # residual dimension carrying +1 (text) / -1/k (speech)
EOS_DIM = 1             # residual dimension carrying the running mean of COUNT_DIM
TOKENS_PER_TEXT = 7.0   # k: the speech/text ratio where the mean crosses zero
EOS_GAIN = 160.0        # eos logit = EOS_BIAS - EOS_GAIN * normalised EOS_DIM
EOS_BIAS = 10.0
SPEECH_LOGIT_STD = 3.0  # std of the speech-token logits over the vocabulary
BRANCH_STD = {"tiny": 0.25, "full": 0.08}  # per-layer std of what attention / MLP add to the residual


class _LLMHolder(torch.nn.Module):
    """Stands for the official ``Qwen2Encoder``: holds the HF model as ``.model``."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model


class TwinQwen2LM(torch.nn.Module):
    """Attribute-compatible stand-in for the official ``Qwen2LM`` (inference parts only)."""

    def __init__(self, model: torch.nn.Module, hidden: int, speech_token_size: int):
        super().__init__()
        self.llm_input_size = hidden
        self.llm_output_size = hidden
        self.speech_token_size = speech_token_size
        self.sos = 0
        self.task_id = 1
        self.eos_token = speech_token_size
        self.fill_token = speech_token_size + 2
        self.stop_token_ids = [speech_token_size + i for i in range(3)]
        self.llm_embedding = torch.nn.Embedding(2, hidden)
        self.llm = _LLMHolder(model)
        self.llm_decoder = torch.nn.Linear(hidden, speech_token_size + 3)
        self.speech_embedding = torch.nn.Embedding(speech_token_size + 3, hidden)


def _qwen2_config(spec: dict, text_vocab: int):
    from transformers import Qwen2Config

    config = Qwen2Config(
        vocab_size=text_vocab,
        hidden_size=spec["hidden_size"],
        intermediate_size=spec["intermediate_size"],
        num_hidden_layers=spec["num_layers"],
        num_attention_heads=spec["num_heads"],
        num_key_value_heads=spec["num_kv_heads"],
        head_dim=spec["head_dim"],
        max_position_embeddings=spec["max_position"],
        rms_norm_eps=spec["rms_norm_eps"],
        tie_word_embeddings=True,
        rope_parameters={"rope_type": "default", "rope_theta": spec["rope_theta"]},
        use_sliding_window=False,
        hidden_act="silu",
    )
    config._attn_implementation = "eager"
    return config


def _rows_with_norm(content: torch.Tensor, count: torch.Tensor, hidden: int) -> torch.Tensor:
    """Rows whose COUNT_DIM is ``count``, EOS_DIM is 0, and whose total norm is sqrt(hidden)."""
    rows = content.clone()
    rows[:, COUNT_DIM] = 0.0
    rows[:, EOS_DIM] = 0.0
    target = torch.sqrt(hidden - count.square()).unsqueeze(1)
    rows = rows / rows.norm(dim=1, keepdim=True) * target
    rows[:, COUNT_DIM] = count
    return rows


@torch.no_grad()
def make_twin_lm(size: str, text_vocab: int, seed: int) -> torch.nn.Module:
    """A random ``Qwen2LM`` twin of the given size ("tiny" or "full"), deterministic in ``seed``."""
    from transformers import Qwen2ForCausalLM

    spec = LLM_SPECS[size]
    H = spec["hidden_size"]
    nh, kvh, hd, inter = spec["num_heads"], spec["num_kv_heads"], spec["head_dim"], spec["intermediate_size"]
    branch = BRANCH_STD[size]
    V = SPEECH_TOKEN_SIZE + 3
    config = _qwen2_config(spec, text_vocab)

    # Build without transformers' random init (slow at full size), then fill every tensor.
    with torch.device("meta"):
        model = Qwen2ForCausalLM(config)
    model.to_empty(device="cpu")
    model.model.rotary_emb = type(model.model.rotary_emb)(config)   # non-persistent buffers
    model.lm_head.weight = model.model.embed_tokens.weight          # re-tie after to_empty
    model.eval()
    lm = TwinQwen2LM(model, H, SPEECH_TOKEN_SIZE)
    lm.eval()

    g = torch.Generator().manual_seed(int(seed))

    def randn(*shape, std=1.0):
        return torch.randn(*shape, generator=g) * std

    # Embeddings: text +1, speech -1/k, sos/task_id 0 in COUNT_DIM; equal norms.
    model.model.embed_tokens.weight.copy_(
        _rows_with_norm(randn(text_vocab, H), torch.ones(text_vocab), H))
    speech_count = torch.full((V,), -1.0 / TOKENS_PER_TEXT)
    lm.speech_embedding.weight.copy_(_rows_with_norm(randn(V, H), speech_count, H))
    lm.llm_embedding.weight.copy_(_rows_with_norm(randn(2, H), torch.zeros(2), H))

    counter_head = nh - 1                      # query head with zero q: uniform attention
    counter_kv = counter_head // (nh // kvh)   # the kv head it reads
    for i, layer in enumerate(model.model.layers):
        att, mlp = layer.self_attn, layer.mlp
        layer.input_layernorm.weight.fill_(1.0)
        layer.post_attention_layernorm.weight.fill_(1.0)
        # q, k: per-component std ~1 on a unit-rms input, so scores have std ~1 (mildly peaked).
        att.q_proj.weight.copy_(randn(nh * hd, H, std=1.0 / math.sqrt(H)))
        att.q_proj.bias.copy_(randn(nh * hd, std=0.1))
        att.k_proj.weight.copy_(randn(kvh * hd, H, std=1.0 / math.sqrt(H)))
        att.k_proj.bias.copy_(randn(kvh * hd, std=0.1))
        att.v_proj.weight.copy_(randn(kvh * hd, H, std=1.0 / math.sqrt(H)))
        att.v_proj.bias.copy_(randn(kvh * hd, std=0.1))
        att.o_proj.weight.copy_(randn(H, nh * hd, std=branch / math.sqrt(nh * hd)))
        mlp.gate_proj.weight.copy_(randn(inter, H, std=1.0 / math.sqrt(H)))
        mlp.up_proj.weight.copy_(randn(inter, H, std=1.0 / math.sqrt(H)))
        mlp.down_proj.weight.copy_(randn(H, inter, std=2.0 * branch / math.sqrt(inter)))
        # Nothing writes the two mechanism dimensions ...
        att.o_proj.weight[COUNT_DIM].zero_()
        att.o_proj.weight[EOS_DIM].zero_()
        mlp.down_proj.weight[COUNT_DIM].zero_()
        mlp.down_proj.weight[EOS_DIM].zero_()
        if i == 0:
            # ... except layer 0's counter head: q = 0 -> uniform causal attention, value
            # channel 0 of its kv head = normalised COUNT_DIM, o_proj -> EOS_DIM.
            att.q_proj.weight[counter_head * hd:(counter_head + 1) * hd].zero_()
            att.q_proj.bias[counter_head * hd:(counter_head + 1) * hd].zero_()
            row = counter_kv * hd
            att.v_proj.weight[row].zero_()
            att.v_proj.weight[row, COUNT_DIM] = 1.0
            att.v_proj.bias[row] = 0.0
            # Heads sharing that kv head must not see a huge value in channel 0 from elsewhere:
            # keep its column in o_proj for other heads at noise level (already), and write
            # the counter head's channel 0 to EOS_DIM only.
            att.o_proj.weight[:, counter_head * hd].zero_()
            att.o_proj.weight[EOS_DIM, counter_head * hd] = 1.0
    model.model.norm.weight.fill_(1.0)

    # Decoder: random speech logits (std SPEECH_LOGIT_STD on a unit-rms hidden state), an eos row
    # reading only EOS_DIM, and the two other stop tokens never likely.
    dec_w = randn(V, H, std=SPEECH_LOGIT_STD / math.sqrt(H))
    dec_w[:, COUNT_DIM] = 0.0
    dec_w[:, EOS_DIM] = 0.0
    dec_b = randn(V, std=0.3)
    eos = SPEECH_TOKEN_SIZE
    dec_w[eos].zero_()
    dec_w[eos, EOS_DIM] = -EOS_GAIN
    dec_b[eos] = EOS_BIAS
    dec_w[eos + 1:].zero_()
    dec_b[eos + 1:] = -30.0
    lm.llm_decoder.weight.copy_(dec_w)
    lm.llm_decoder.bias.copy_(dec_b)
    return lm
