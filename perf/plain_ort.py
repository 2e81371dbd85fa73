"""Reference loop 2: a plain ONNX Runtime decode loop over the contract's ``llm.onnx``.

A wave of N requests arrives at once and runs as one fixed batch of N: one batched fresh prefill
(all prefixes have the same length), then one batched decode step per token. The KV cache is
passed in and out of every step with plain ``InferenceSession.run``: no IOBinding, the
``present_*`` outputs (fresh tensors holding the whole cache) are fed back as the next
``past_*`` inputs. Sampling is the contract's RAS (``models/reference/pipeline.ras_sample``, numpy,
SplitMix64 per request) with the stop tokens masked so every request generates exactly
``--tokens`` tokens. One JSON line per concurrency on stdout; progress on stderr.

    python perf/plain_ort.py --model-dir /work/main/models/random/full [--concurrency 1,4,16,32]
"""
from __future__ import annotations

import time

import numpy as np

import common  # noqa: E402  (puts models/ on sys.path)
from reference.pipeline import SamplingParams, ras_sample  # noqa: E402
from reference.rng import SplitMix64  # noqa: E402


def make_session(model_dir, threads: int):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    return ort.InferenceSession(str(model_dir / "llm.onnx"), so, providers=["CPUExecutionProvider"])


class PlainLoop:
    def __init__(self, args, config: dict):
        llm = config["llm"]
        self.args = args
        self.L, self.kvh, self.hd = llm["num_layers"], llm["num_kv_heads"], llm["head_dim"]
        self.H = llm["hidden_size"]
        self.text_vocab, self.sts = llm["text_vocab"], llm["speech_token_size"]
        self.stop = list(llm["stop_tokens"])
        s = config["sampling"]
        self.params = SamplingParams(top_p=s["top_p"], top_k=s["top_k"], win_size=s["win_size"],
                                     tau_r=s["tau_r"], eos=llm["eos"])
        d = args.model_dir
        self.text_emb = np.load(d / "llm_text_embedding.npy", mmap_mode="r")
        self.speech_emb = np.load(d / "llm_speech_embedding.npy")
        self.special = np.load(d / "llm_special_embedding.npy")
        t0 = time.perf_counter()
        self.sess = make_session(d, args.threads)
        common.log(f"plain_ort: session on {d / 'llm.onnx'} in {time.perf_counter() - t0:.1f} s")
        self.past_names = [f"past_{kv}_{i}" for i in range(self.L) for kv in ("key", "value")]
        self.out_names = ["logits"] + [f"present_{kv}_{i}" for i in range(self.L) for kv in ("key", "value")]

    def prefix(self, rng):
        text, speech = common.prefix_tokens(rng, self.args.prefix, self.text_vocab, self.sts)
        return np.concatenate([self.special[0:1], self.text_emb[text], self.special[1:2],
                               self.speech_emb[speech]], 0).astype(np.float32)

    def _run(self, x, pos, seqlens_k, last_index, past):
        feeds = {"inputs_embeds": x, "position_ids": pos, "seqlens_k": seqlens_k,
                 "total_sequence_length": np.array(int(seqlens_k.max()) + 1, np.int32),
                 "last_index": last_index}
        feeds.update(zip(self.past_names, past))
        out = self.sess.run(self.out_names, feeds)
        return out[0], out[1:]

    def serve_wave(self, reqs, deadline, seed, steps=None, tokens=None, prefix_len=None):
        """One fixed batch: prefill all, then decode together until each has ``tokens`` tokens."""
        tokens = tokens or self.args.tokens
        B = len(reqs)
        rng = np.random.default_rng(seed)
        x = np.stack([self.prefix(rng) for _ in reqs])
        if prefix_len:   # warm-up: a shorter prefix
            x = np.ascontiguousarray(x[:, :prefix_len])
        P = x.shape[1]
        C = max(P + tokens, self.args.capacity or 0)   # KV capacity: by default just what the wave needs
        past = [np.zeros((B, self.kvh, C, self.hd), np.float32) for _ in range(2 * self.L)]
        rngs = [SplitMix64((self.args.seed << 20) + r.index) for r in reqs]
        pos = np.tile(np.arange(P, dtype=np.int64), (B, 1))
        seqlens = np.full(B, P - 1, np.int32)
        last = np.full(B, P - 1, np.int64)
        for step in range(tokens):
            t0 = time.perf_counter()
            logits, past = self._run(x, pos, seqlens, last, past)
            t1 = time.perf_counter()
            logits = logits.astype(np.float64)
            logits[:, self.stop] = -np.inf     # ignore eos: every request generates `tokens` tokens
            picks = []
            for r, lg, g in zip(reqs, logits, rngs):
                tok = ras_sample(lg, r.tokens, g, self.params, 0)
                r.tokens.append(tok)
                picks.append(tok)
            t2 = time.perf_counter()
            for r in reqs:
                r.token_times.append(t2)
            if steps is not None:
                steps["prefill" if step == 0 else "decode"].append(t1 - t0)
                steps["sample"].append(t2 - t1)
            if len(reqs[0].tokens) >= tokens:
                return True
            if t2 >= deadline:
                return False
            # next step: the sampled tokens, one position each; the presents are the next pasts
            x = self.speech_emb[np.asarray(picks)][:, None, :].astype(np.float32)
            pos = np.full((B, 1), P + step, np.int64)
            seqlens = np.full(B, P + step, np.int32)
            last = np.zeros(B, np.int64)
        return True


def main(argv=None) -> int:
    def extra(p):
        p.add_argument("--capacity", type=int, default=0,
                       help="KV cache capacity C (positions per sequence; default prefix + tokens, the least "
                            "possible). A plain loop copies the whole cache every step, so a step costs C")
    args = common.parse_args(__doc__.split("\n\n")[0], argv, extra)
    config = common.load_model_json(args.model_dir)
    loop = PlainLoop(args, config)
    variant = config["model"]["variant"]
    for n in args.concurrency_list:
        if args.wait_quiet > 0:
            common.wait_quiet(args.wait_quiet)
        if not args.no_warmup:   # the batch's shapes once, short: arenas and kernels set up
            t0 = time.perf_counter()
            wreqs = [common.Request(index=-1 - i, arrival=t0) for i in range(n)]
            loop.serve_wave(wreqs, float("inf"), 12345, tokens=4, prefix_len=min(16, args.prefix))
            common.log(f"plain_ort: warm-up at batch {n}: {time.perf_counter() - t0:.1f} s")
        waves = common.run_configuration(loop.serve_wave, n, args, args.seed * 1000 + n)
        line = common.summarize("plain_ort", n, waves, args, {
            "model": variant, "tokens_per_decode_step": n,
            "kv_capacity": max(args.prefix + args.tokens, args.capacity),
            "kv_cache": "present copied out and fed back as past every step (no IOBinding)",
        })
        common.emit(line)
        common.log(f"plain_ort: batch {n}: {line['tokens_per_second']} tokens/s, "
                   f"decode step {line['decode_step_ms_p50']} ms, {line['requests']} requests")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
