"""Random-weight twin of CosyVoice2's flow (``CausalMaskedDiffWithXvec``).

The twin has the official module's attribute structure and call signatures as far as the export
wrappers in ``flow.py`` use them, so the same wrappers run on the official checkpoint and on this:

    flow.input_embedding            Embedding(vocab_size, input_size)
    flow.spk_embed_affine_layer     Linear(spk_embed_dim, output_size)
    flow.encoder                    UpsampleConformerEncoder-like (see ``UpsampleEncoder``)
    flow.encoder_proj               Linear(encoder.output_size(), output_size)
    flow.decoder                    CausalConditionalCFM-like: .estimator, .rand_noise,
                                    .inference_cfg_rate, .t_scheduler, forward(), solve_euler()
    flow.decoder.estimator          CausalConditionalDecoder-like U-Net with one resolution level
    flow.inference(...)             the official inference signature

It is written from the behaviour of the official code (same arithmetic, same shapes), not copied.
``make_twin_flow("full")`` has the real layer sizes; ``"tiny"`` keeps every interface size
(80 mel bins, 192-dim speaker embedding, 6561 tokens, 320 estimator input channels) with tiny
internals.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

VOCAB_SIZE = 6561
MEL_BINS = 80
SPK_EMBED_DIM = 192
PRE_LOOKAHEAD_LEN = 3
STATIC_CHUNK_SIZE = 25
TOKEN_MEL_RATIO = 2

SIZES = {
    # encoder: dims / heads / ffn / blocks before and after the upsampling;
    # estimator: channels / heads x head_dim / transformer blocks per stage / mid stages
    "full": dict(enc_dim=512, enc_heads=8, enc_ffn=2048, enc_blocks=6, enc_up_blocks=4,
                 est_channels=256, est_heads=8, est_head_dim=64, est_n_blocks=4, est_mid_blocks=12),
    "tiny": dict(enc_dim=32, enc_heads=2, enc_ffn=64, enc_blocks=1, enc_up_blocks=1,
                 est_channels=16, est_heads=2, est_head_dim=8, est_n_blocks=1, est_mid_blocks=1),
}


# ----------------------------------------------------------------------------------------------
# masks (the semantics of cosyvoice.utils.mask)
# ----------------------------------------------------------------------------------------------

def _pad_mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """True at padded positions, [B, max_len]."""
    return torch.arange(max_len, device=lengths.device).unsqueeze(0) >= lengths.unsqueeze(1)


def _chunk_mask(size: int, chunk: int, device=None) -> torch.Tensor:
    """[size, size] bool: position i sees every position before the end of its chunk."""
    pos = torch.arange(size, device=device)
    chunk_end = (pos // chunk + 1) * chunk
    return pos.unsqueeze(0) < chunk_end.unsqueeze(1)


def _optional_chunk_mask(xs: torch.Tensor, masks: torch.Tensor, static_chunk_size: int) -> torch.Tensor:
    """``add_optional_chunk_mask`` for decoding: a static chunk mask when the size is > 0, else the padding mask."""
    if static_chunk_size > 0:
        chunk_masks = masks & _chunk_mask(xs.size(1), static_chunk_size, xs.device).unsqueeze(0)
    else:
        chunk_masks = masks
    empty = chunk_masks.sum(dim=-1) == 0
    if bool(empty.any()):
        chunk_masks = chunk_masks.clone()
        chunk_masks[empty] = True
    return chunk_masks


# ----------------------------------------------------------------------------------------------
# encoder: UpsampleConformerEncoder-like
# ----------------------------------------------------------------------------------------------

class RelPositionalEncoding(nn.Module):
    """ESPnet-style relative positional encoding (``rel_pos_espnet``): scales x by sqrt(d) and returns
    the encodings of the relative positions size-1 ... -(size-1), [1, 2*size-1, d]."""

    def __init__(self, d_model: int, dropout_rate: float = 0.0, max_len: int = 5000):
        super().__init__()
        self.d_model = d_model
        self.xscale = math.sqrt(d_model)
        self.dropout = nn.Dropout(dropout_rate)
        self.pe = None
        self.extend_pe(torch.zeros(1, max_len))

    def extend_pe(self, x: torch.Tensor) -> None:
        if self.pe is not None and self.pe.size(1) >= 2 * x.size(1) - 1:
            return
        n = x.size(1)
        position = torch.arange(0, n, dtype=torch.float32).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, self.d_model, 2, dtype=torch.float32)
                             * -(math.log(10000.0) / self.d_model))
        positive = torch.zeros(n, self.d_model)
        negative = torch.zeros(n, self.d_model)
        positive[:, 0::2] = torch.sin(position * div_term)
        positive[:, 1::2] = torch.cos(position * div_term)
        negative[:, 0::2] = torch.sin(-1 * position * div_term)
        negative[:, 1::2] = torch.cos(-1 * position * div_term)
        # relative positions n-1 ... 0 followed by -1 ... -(n-1)
        self.pe = torch.cat([torch.flip(positive, [0]), negative[1:]], dim=0).unsqueeze(0)

    def position_encoding(self, offset, size: int) -> torch.Tensor:
        center = self.pe.size(1) // 2
        return self.pe[:, center - size - offset + 1: center + size + offset]

    def forward(self, x: torch.Tensor, offset=0):
        self.extend_pe(x)
        x = x * self.xscale
        pos_emb = self.position_encoding(offset, x.size(1))
        return self.dropout(x), self.dropout(pos_emb)


class LinearNoSubsampling(nn.Module):
    """Linear + LayerNorm + dropout, then the positional encoding: ``embed(xs, masks, offset=0) -> (xs, pos_emb, masks)``."""

    def __init__(self, idim: int, odim: int, dropout_rate: float = 0.0):
        super().__init__()
        self.out = nn.Sequential(nn.Linear(idim, odim), nn.LayerNorm(odim, eps=1e-5), nn.Dropout(dropout_rate))
        self.pos_enc = RelPositionalEncoding(odim, dropout_rate)
        self.right_context = 0
        self.subsampling_rate = 1

    def forward(self, x: torch.Tensor, x_mask: torch.Tensor, offset=0):
        x = self.out(x)
        x, pos_emb = self.pos_enc(x, offset)
        return x, pos_emb, x_mask


class RelPositionMultiHeadedAttention(nn.Module):
    """Transformer-XL style self-attention with the two learned position biases (u, v)."""

    def __init__(self, n_head: int, n_feat: int, dropout_rate: float = 0.0):
        super().__init__()
        self.d_k = n_feat // n_head
        self.h = n_head
        self.linear_q = nn.Linear(n_feat, n_feat)
        self.linear_k = nn.Linear(n_feat, n_feat)
        self.linear_v = nn.Linear(n_feat, n_feat)
        self.linear_out = nn.Linear(n_feat, n_feat)
        self.linear_pos = nn.Linear(n_feat, n_feat, bias=False)
        self.dropout = nn.Dropout(dropout_rate)
        self.pos_bias_u = nn.Parameter(torch.empty(self.h, self.d_k))
        self.pos_bias_v = nn.Parameter(torch.empty(self.h, self.d_k))
        nn.init.xavier_uniform_(self.pos_bias_u)
        nn.init.xavier_uniform_(self.pos_bias_v)

    @staticmethod
    def rel_shift(x: torch.Tensor) -> torch.Tensor:
        """[B, H, T, 2T-1] scores over relative positions -> [B, H, T, T] scores over key positions."""
        b, h, t1, t2 = x.size()
        padded = torch.cat([x.new_zeros(b, h, t1, 1), x], dim=-1).view(b, h, t2 + 1, t1)
        return padded[:, :, 1:].view(b, h, t1, t2)[:, :, :, : t2 // 2 + 1]

    def forward(self, query, key, value, mask=torch.ones((0, 0, 0), dtype=torch.bool),
                pos_emb=torch.empty(0), cache=torch.zeros((0, 0, 0, 0))):
        b = query.size(0)
        q = self.linear_q(query).view(b, -1, self.h, self.d_k)                     # [B, T, H, dk]
        k = self.linear_k(key).view(b, -1, self.h, self.d_k).transpose(1, 2)      # [B, H, T, dk]
        v = self.linear_v(value).view(b, -1, self.h, self.d_k).transpose(1, 2)
        if cache.size(0) > 0:
            k_cache, v_cache = torch.split(cache, cache.size(-1) // 2, dim=-1)
            k = torch.cat([k_cache, k], dim=2)
            v = torch.cat([v_cache, v], dim=2)
        new_cache = torch.cat((k, v), dim=-1)
        p = self.linear_pos(pos_emb).view(pos_emb.size(0), -1, self.h, self.d_k).transpose(1, 2)
        q_u = (q + self.pos_bias_u).transpose(1, 2)
        q_v = (q + self.pos_bias_v).transpose(1, 2)
        ac = torch.matmul(q_u, k.transpose(-2, -1))
        bd = torch.matmul(q_v, p.transpose(-2, -1))
        if ac.shape != bd.shape:
            bd = self.rel_shift(bd)
        scores = (ac + bd) / math.sqrt(self.d_k)
        if mask.size(2) > 0:
            blocked = mask.unsqueeze(1).eq(0)[:, :, :, : scores.size(-1)]
            attn = torch.softmax(scores.masked_fill(blocked, -float("inf")), dim=-1).masked_fill(blocked, 0.0)
        else:
            attn = torch.softmax(scores, dim=-1)
        x = torch.matmul(self.dropout(attn), v).transpose(1, 2).contiguous().view(b, -1, self.h * self.d_k)
        return self.linear_out(x), new_cache


class PositionwiseFeedForward(nn.Module):
    def __init__(self, idim: int, hidden_units: int, dropout_rate: float = 0.0, activation: nn.Module = None):
        super().__init__()
        self.w_1 = nn.Linear(idim, hidden_units)
        self.activation = activation if activation is not None else nn.SiLU()
        self.dropout = nn.Dropout(dropout_rate)
        self.w_2 = nn.Linear(hidden_units, idim)

    def forward(self, xs):
        return self.w_2(self.dropout(self.activation(self.w_1(xs))))


class ConformerEncoderLayer(nn.Module):
    """Pre-norm self-attention + feed-forward block (no macaron, no convolution module, as CosyVoice2's)."""

    def __init__(self, size: int, self_attn: nn.Module, feed_forward: nn.Module, dropout_rate: float = 0.0):
        super().__init__()
        self.self_attn = self_attn
        self.feed_forward = feed_forward
        self.feed_forward_macaron = None
        self.conv_module = None
        self.norm_ff = nn.LayerNorm(size, eps=1e-12)
        self.norm_mha = nn.LayerNorm(size, eps=1e-12)
        self.ff_scale = 1.0
        self.dropout = nn.Dropout(dropout_rate)
        self.size = size
        self.normalize_before = True

    def forward(self, x, mask, pos_emb, mask_pad=torch.ones((0, 0, 0), dtype=torch.bool),
                att_cache=torch.zeros((0, 0, 0, 0)), cnn_cache=torch.zeros((0, 0, 0, 0))):
        residual = x
        x = self.norm_mha(x)
        x_att, new_att_cache = self.self_attn(x, x, x, mask, pos_emb, att_cache)
        x = residual + self.dropout(x_att)
        residual = x
        x = residual + self.ff_scale * self.dropout(self.feed_forward(self.norm_ff(x)))
        return x, mask, new_att_cache, torch.zeros((0, 0, 0), dtype=x.dtype, device=x.device)


class PreLookaheadLayer(nn.Module):
    """Residual 2-conv block that sees ``pre_lookahead_len`` future positions (zeros, or the given context)."""

    def __init__(self, in_channels: int, channels: int, pre_lookahead_len: int = 1):
        super().__init__()
        self.in_channels = in_channels
        self.channels = channels
        self.pre_lookahead_len = pre_lookahead_len
        self.conv1 = nn.Conv1d(in_channels, channels, kernel_size=pre_lookahead_len + 1)
        self.conv2 = nn.Conv1d(channels, in_channels, kernel_size=3)

    def forward(self, inputs: torch.Tensor, context: torch.Tensor = torch.zeros(0, 0, 0)) -> torch.Tensor:
        out = inputs.transpose(1, 2).contiguous()
        context = context.transpose(1, 2).contiguous()
        if context.size(2) == 0:
            out = F.pad(out, (0, self.pre_lookahead_len))
        else:
            assert context.size(2) == self.pre_lookahead_len
            out = torch.cat([out, context], dim=2)
        out = F.leaky_relu(self.conv1(out))
        out = self.conv2(F.pad(out, (self.conv2.kernel_size[0] - 1, 0)))
        return out.transpose(1, 2).contiguous() + inputs


class Upsample1D(nn.Module):
    """Nearest-neighbour repeat by ``stride`` then a causal conv of width 2*stride+1."""

    def __init__(self, channels: int, out_channels: int, stride: int = 2):
        super().__init__()
        self.channels = channels
        self.out_channels = out_channels
        self.stride = stride
        self.conv = nn.Conv1d(channels, out_channels, stride * 2 + 1)

    def forward(self, inputs: torch.Tensor, input_lengths: torch.Tensor):
        out = F.interpolate(inputs, scale_factor=float(self.stride), mode="nearest")
        out = self.conv(F.pad(out, (self.stride * 2, 0)))
        return out, input_lengths * self.stride


class UpsampleEncoder(nn.Module):
    """UpsampleConformerEncoder-like: embed -> pre-look-ahead -> conformer blocks -> x2 upsample ->
    embed -> conformer blocks -> final LayerNorm, with the static chunk mask when ``streaming``."""

    def __init__(self, dim: int, heads: int, ffn: int, blocks: int, up_blocks: int,
                 static_chunk_size: int = STATIC_CHUNK_SIZE, pre_lookahead_len: int = PRE_LOOKAHEAD_LEN):
        super().__init__()
        self._output_size = dim
        self.global_cmvn = None
        self.normalize_before = True
        self.static_chunk_size = static_chunk_size
        self.use_dynamic_chunk = False
        self.use_dynamic_left_chunk = False
        self.embed = LinearNoSubsampling(dim, dim)
        self.pre_lookahead_layer = PreLookaheadLayer(dim, dim, pre_lookahead_len)

        def layer():
            return ConformerEncoderLayer(dim, RelPositionMultiHeadedAttention(heads, dim),
                                         PositionwiseFeedForward(dim, ffn, 0.0, nn.SiLU()))
        self.encoders = nn.ModuleList([layer() for _ in range(blocks)])
        self.up_layer = Upsample1D(dim, dim, stride=2)
        self.up_embed = LinearNoSubsampling(dim, dim)
        self.up_encoders = nn.ModuleList([layer() for _ in range(up_blocks)])
        self.after_norm = nn.LayerNorm(dim, eps=1e-5)

    def output_size(self) -> int:
        return self._output_size

    def forward(self, xs: torch.Tensor, xs_lens: torch.Tensor, context: torch.Tensor = torch.zeros(0, 0, 0),
                decoding_chunk_size: int = 0, num_decoding_left_chunks: int = -1, streaming: bool = False):
        masks = ~_pad_mask(xs_lens, xs.size(1)).unsqueeze(1)
        xs, pos_emb, masks = self.embed(xs, masks)
        if context.size(1) != 0:
            context, _, _ = self.embed(context, torch.ones(1, 1, context.size(1), dtype=torch.bool), offset=xs.size(1))
        mask_pad = masks
        chunk_masks = _optional_chunk_mask(xs, masks, self.static_chunk_size if streaming else 0)
        xs = self.pre_lookahead_layer(xs, context=context)
        for layer in self.encoders:
            xs, chunk_masks, _, _ = layer(xs, chunk_masks, pos_emb, mask_pad)
        xs, xs_lens = self.up_layer(xs.transpose(1, 2).contiguous(), xs_lens)
        xs = xs.transpose(1, 2).contiguous()
        masks = ~_pad_mask(xs_lens, xs.size(1)).unsqueeze(1)
        xs, pos_emb, masks = self.up_embed(xs, masks)
        mask_pad = masks
        chunk_masks = _optional_chunk_mask(xs, masks, self.static_chunk_size * self.up_layer.stride if streaming else 0)
        for layer in self.up_encoders:
            xs, chunk_masks, _, _ = layer(xs, chunk_masks, pos_emb, mask_pad)
        return self.after_norm(xs), masks


# ----------------------------------------------------------------------------------------------
# estimator: CausalConditionalDecoder-like
# ----------------------------------------------------------------------------------------------

class SinusoidalPosEmb(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        assert dim % 2 == 0
        self.dim = dim

    def forward(self, x: torch.Tensor, scale: float = 1000) -> torch.Tensor:
        if x.ndim < 1:
            x = x.unsqueeze(0)
        half = self.dim // 2
        freqs = torch.exp(torch.arange(half, device=x.device).float() * -(math.log(10000) / (half - 1)))
        arg = scale * x.unsqueeze(1) * freqs.unsqueeze(0)
        return torch.cat([arg.sin(), arg.cos()], dim=-1)


class TimestepEmbedding(nn.Module):
    def __init__(self, in_channels: int, time_embed_dim: int):
        super().__init__()
        self.linear_1 = nn.Linear(in_channels, time_embed_dim)
        self.act = nn.SiLU()
        self.linear_2 = nn.Linear(time_embed_dim, time_embed_dim)

    def forward(self, sample):
        return self.linear_2(self.act(self.linear_1(sample)))


class Transpose(nn.Module):
    def __init__(self, dim0: int, dim1: int):
        super().__init__()
        self.dim0, self.dim1 = dim0, dim1

    def forward(self, x):
        return torch.transpose(x, self.dim0, self.dim1)


class CausalConv1d(nn.Conv1d):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: int):
        super().__init__(in_channels, out_channels, kernel_size)
        self.causal_padding = kernel_size - 1

    def forward(self, x):
        return super().forward(F.pad(x, (self.causal_padding, 0)))


class CausalBlock1D(nn.Module):
    def __init__(self, dim: int, dim_out: int):
        super().__init__()
        self.block = nn.Sequential(CausalConv1d(dim, dim_out, 3), Transpose(1, 2), nn.LayerNorm(dim_out),
                                   Transpose(1, 2), nn.Mish())

    def forward(self, x, mask):
        return self.block(x * mask) * mask


class CausalResnetBlock1D(nn.Module):
    def __init__(self, dim: int, dim_out: int, time_emb_dim: int):
        super().__init__()
        self.mlp = nn.Sequential(nn.Mish(), nn.Linear(time_emb_dim, dim_out))
        self.block1 = CausalBlock1D(dim, dim_out)
        self.block2 = CausalBlock1D(dim_out, dim_out)
        self.res_conv = nn.Conv1d(dim, dim_out, 1)

    def forward(self, x, mask, time_emb):
        h = self.block1(x, mask)
        h = h + self.mlp(time_emb).unsqueeze(-1)
        h = self.block2(h, mask)
        return h + self.res_conv(x * mask)


class Attention(nn.Module):
    """Self-attention with an additive mask bias [B, T, T] (the diffusers ``Attention`` used by Matcha)."""

    def __init__(self, query_dim: int, heads: int, dim_head: int, dropout: float = 0.0):
        super().__init__()
        inner = heads * dim_head
        self.heads = heads
        self.scale = dim_head ** -0.5
        self.to_q = nn.Linear(query_dim, inner, bias=False)
        self.to_k = nn.Linear(query_dim, inner, bias=False)
        self.to_v = nn.Linear(query_dim, inner, bias=False)
        self.to_out = nn.ModuleList([nn.Linear(inner, query_dim), nn.Dropout(dropout)])

    def forward(self, hidden_states, attention_mask=None):
        b, t, _ = hidden_states.shape
        q = self.to_q(hidden_states).view(b, t, self.heads, -1).transpose(1, 2)
        k = self.to_k(hidden_states).view(b, t, self.heads, -1).transpose(1, 2)
        v = self.to_v(hidden_states).view(b, t, self.heads, -1).transpose(1, 2)
        scores = torch.matmul(q, k.transpose(-1, -2)) * self.scale
        if attention_mask is not None:
            scores = scores + attention_mask.unsqueeze(1)
        out = torch.matmul(scores.softmax(dim=-1), v).transpose(1, 2).reshape(b, t, -1)
        return self.to_out[1](self.to_out[0](out))


class GELUProj(nn.Module):
    def __init__(self, dim_in: int, dim_out: int):
        super().__init__()
        self.proj = nn.Linear(dim_in, dim_out)

    def forward(self, x):
        return F.gelu(self.proj(x))


class FeedForward(nn.Module):
    def __init__(self, dim: int, mult: int = 4, dropout: float = 0.0):
        super().__init__()
        self.net = nn.ModuleList([GELUProj(dim, dim * mult), nn.Dropout(dropout), nn.Linear(dim * mult, dim)])

    def forward(self, x):
        for module in self.net:
            x = module(x)
        return x


class BasicTransformerBlock(nn.Module):
    def __init__(self, dim: int, num_attention_heads: int, attention_head_dim: int, dropout: float = 0.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn1 = Attention(dim, num_attention_heads, attention_head_dim, dropout)
        self.norm3 = nn.LayerNorm(dim)
        self.ff = FeedForward(dim, dropout=dropout)

    def forward(self, hidden_states, attention_mask=None, timestep=None):
        hidden_states = self.attn1(self.norm1(hidden_states), attention_mask=attention_mask) + hidden_states
        return self.ff(self.norm3(hidden_states)) + hidden_states


def _mask_to_bias(mask: torch.Tensor, dtype) -> torch.Tensor:
    return (1.0 - mask.to(dtype)) * -1.0e10


class CausalConditionalDecoder(nn.Module):
    """The flow-matching velocity network: a one-level 1-D U-Net of causal resnet blocks and transformer
    blocks over ``x``, ``mu``, ``spks`` and ``cond`` stacked on channels (4 x 80 = 320)."""

    def __init__(self, in_channels: int = 320, out_channels: int = 80, channels: int = 256,
                 attention_head_dim: int = 64, n_blocks: int = 4, num_mid_blocks: int = 12, num_heads: int = 8,
                 static_chunk_size: int = STATIC_CHUNK_SIZE * TOKEN_MEL_RATIO, num_decoding_left_chunks: int = -1):
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.static_chunk_size = static_chunk_size
        self.num_decoding_left_chunks = num_decoding_left_chunks
        time_dim = channels * 4
        self.time_embeddings = SinusoidalPosEmb(in_channels)
        self.time_mlp = TimestepEmbedding(in_channels, time_dim)

        def transformers():
            return nn.ModuleList([BasicTransformerBlock(channels, num_heads, attention_head_dim)
                                  for _ in range(n_blocks)])
        self.down_blocks = nn.ModuleList([nn.ModuleList([
            CausalResnetBlock1D(in_channels, channels, time_dim), transformers(), CausalConv1d(channels, channels, 3)])])
        self.mid_blocks = nn.ModuleList([nn.ModuleList([
            CausalResnetBlock1D(channels, channels, time_dim), transformers()]) for _ in range(num_mid_blocks)])
        self.up_blocks = nn.ModuleList([nn.ModuleList([
            CausalResnetBlock1D(2 * channels, channels, time_dim), transformers(), CausalConv1d(channels, channels, 3)])])
        self.final_block = CausalBlock1D(channels, channels)
        self.final_proj = nn.Conv1d(channels, out_channels, 1)
        for m in self.modules():
            if isinstance(m, (nn.Conv1d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def _attend(self, x, mask, t, transformer_blocks, streaming: bool):
        x = x.transpose(1, 2).contiguous()
        if streaming:
            attn_mask = _optional_chunk_mask(x, mask.bool(), self.static_chunk_size)
        else:
            attn_mask = _optional_chunk_mask(x, mask.bool(), 0).repeat(1, x.size(1), 1)
        attn_mask = _mask_to_bias(attn_mask, x.dtype)
        for block in transformer_blocks:
            x = block(x, attention_mask=attn_mask, timestep=t)
        return x.transpose(1, 2).contiguous()

    def forward(self, x, mask, mu, t, spks=None, cond=None, streaming=False):
        t = self.time_mlp(self.time_embeddings(t).to(t.dtype))
        h = torch.cat([x, mu], dim=1)
        if spks is not None:
            h = torch.cat([h, spks.unsqueeze(-1).expand(-1, -1, h.shape[-1])], dim=1)
        if cond is not None:
            h = torch.cat([h, cond], dim=1)
        skips = []
        for resnet, transformer_blocks, downsample in self.down_blocks:
            h = resnet(h, mask, t)
            h = self._attend(h, mask, t, transformer_blocks, streaming)
            skips.append(h)
            h = downsample(h * mask)
        for resnet, transformer_blocks in self.mid_blocks:
            h = resnet(h, mask, t)
            h = self._attend(h, mask, t, transformer_blocks, streaming)
        for resnet, transformer_blocks, upsample in self.up_blocks:
            skip = skips.pop()
            h = resnet(torch.cat([h[:, :, :skip.shape[-1]], skip], dim=1), mask, t)
            h = self._attend(h, mask, t, transformer_blocks, streaming)
            h = upsample(h * mask)
        h = self.final_block(h, mask)
        return self.final_proj(h * mask) * mask


class CausalConditionalCFM(nn.Module):
    """Conditional flow matching with the fixed starting noise and classifier-free guidance."""

    def __init__(self, estimator: nn.Module, inference_cfg_rate: float = 0.7, t_scheduler: str = "cosine"):
        super().__init__()
        self.n_feats = MEL_BINS
        self.sigma_min = 1e-6
        self.solver = "euler"
        self.t_scheduler = t_scheduler
        self.training_cfg_rate = 0.2
        self.inference_cfg_rate = inference_cfg_rate
        self.estimator = estimator
        # exactly the official noise: the global generator seeded 0, then one draw
        self.rand_noise = torch.randn([1, MEL_BINS, 50 * 300], generator=torch.Generator().manual_seed(0))

    @torch.inference_mode()
    def forward(self, mu, mask, n_timesteps, temperature=1.0, spks=None, cond=None, streaming=False):
        z = self.rand_noise[:, :, :mu.size(2)].to(mu.device).to(mu.dtype) * temperature
        t_span = torch.linspace(0, 1, n_timesteps + 1, device=mu.device, dtype=mu.dtype)
        if self.t_scheduler == "cosine":
            t_span = 1 - torch.cos(t_span * 0.5 * torch.pi)
        return self.solve_euler(z, t_span=t_span, mu=mu, mask=mask, spks=spks, cond=cond, streaming=streaming), None

    def solve_euler(self, x, t_span, mu, mask, spks, cond, streaming=False):
        t, dt = t_span[0].unsqueeze(0), t_span[1] - t_span[0]
        n = x.size(2)
        for step in range(1, len(t_span)):
            x_in = torch.cat([x, x], dim=0)
            mask_in = torch.cat([mask, mask], dim=0)
            mu_in = torch.cat([mu, torch.zeros_like(mu)], dim=0)
            t_in = t.expand(2).contiguous()
            spks_in = torch.cat([spks, torch.zeros_like(spks)], dim=0)
            cond_in = torch.cat([cond, torch.zeros_like(cond)], dim=0)
            v = self.forward_estimator(x_in, mask_in, mu_in, t_in, spks_in, cond_in, streaming)
            v_cond, v_uncond = torch.split(v, [x.size(0), x.size(0)], dim=0)
            x = x + dt * ((1.0 + self.inference_cfg_rate) * v_cond - self.inference_cfg_rate * v_uncond)
            t = t + dt
            if step < len(t_span) - 1:
                dt = t_span[step + 1] - t
        assert x.size(2) == n
        return x.float()

    def forward_estimator(self, x, mask, mu, t, spks, cond, streaming=False):
        return self.estimator(x, mask, mu, t, spks, cond, streaming=streaming)


class CausalMaskedDiffWithXvec(nn.Module):
    def __init__(self, encoder: UpsampleEncoder, decoder: CausalConditionalCFM, input_size: int,
                 output_size: int = MEL_BINS, spk_embed_dim: int = SPK_EMBED_DIM, vocab_size: int = VOCAB_SIZE,
                 token_mel_ratio: int = TOKEN_MEL_RATIO, pre_lookahead_len: int = PRE_LOOKAHEAD_LEN):
        super().__init__()
        self.input_size = input_size
        self.output_size = output_size
        self.vocab_size = vocab_size
        self.output_type = "mel"
        self.input_frame_rate = 25
        self.input_embedding = nn.Embedding(vocab_size, input_size)
        self.spk_embed_affine_layer = nn.Linear(spk_embed_dim, output_size)
        self.encoder = encoder
        self.encoder_proj = nn.Linear(encoder.output_size(), output_size)
        self.decoder = decoder
        self.only_mask_loss = True
        self.token_mel_ratio = token_mel_ratio
        self.pre_lookahead_len = pre_lookahead_len

    @torch.inference_mode()
    def inference(self, token, token_len, prompt_token, prompt_token_len, prompt_feat, prompt_feat_len,
                  embedding, streaming, finalize):
        assert token.shape[0] == 1
        embedding = self.spk_embed_affine_layer(F.normalize(embedding, dim=1))
        token, token_len = torch.concat([prompt_token, token], dim=1), prompt_token_len + token_len
        mask = (~_pad_mask(token_len, token.size(1))).unsqueeze(-1).to(embedding)
        token = self.input_embedding(torch.clamp(token, min=0)) * mask
        if finalize:
            h, _ = self.encoder(token, token_len, streaming=streaming)
        else:
            token, context = token[:, :-self.pre_lookahead_len], token[:, -self.pre_lookahead_len:]
            h, _ = self.encoder(token, token_len, context=context, streaming=streaming)
        mel_len1, mel_len2 = prompt_feat.shape[1], h.shape[1] - prompt_feat.shape[1]
        h = self.encoder_proj(h)
        conds = torch.zeros([1, mel_len1 + mel_len2, self.output_size], device=token.device).to(h.dtype)
        conds[:, :mel_len1] = prompt_feat
        conds = conds.transpose(1, 2)
        mask = (~_pad_mask(torch.tensor([mel_len1 + mel_len2]), mel_len1 + mel_len2)).to(h)
        feat, _ = self.decoder(mu=h.transpose(1, 2).contiguous(), mask=mask.unsqueeze(1), spks=embedding,
                               cond=conds, n_timesteps=10, streaming=streaming)
        feat = feat[:, :, mel_len1:]
        assert feat.shape[2] == mel_len2
        return feat.float(), None


def make_twin_flow(size: str = "tiny", seed: int = 0) -> CausalMaskedDiffWithXvec:
    """A random-weight CausalMaskedDiffWithXvec twin in eval mode. ``size``: "tiny" or "full"."""
    cfg = SIZES[size]
    state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        encoder = UpsampleEncoder(cfg["enc_dim"], cfg["enc_heads"], cfg["enc_ffn"], cfg["enc_blocks"],
                                  cfg["enc_up_blocks"])
        estimator = CausalConditionalDecoder(4 * MEL_BINS, MEL_BINS, cfg["est_channels"], cfg["est_head_dim"],
                                             cfg["est_n_blocks"], cfg["est_mid_blocks"], cfg["est_heads"])
        decoder = CausalConditionalCFM(estimator)
        flow = CausalMaskedDiffWithXvec(encoder, decoder, input_size=cfg["enc_dim"])
        with torch.no_grad():
            # keep the random network in a sane numeric range: unit-variance token embeddings and a
            # velocity field of roughly unit size, so a 10-step solve stays mel-like in magnitude
            flow.input_embedding.weight.normal_(0.0, 1.0)
            estimator.final_proj.weight.mul_(0.5 / math.sqrt(2.0))
    finally:
        torch.random.set_rng_state(state)
    return flow.eval()
