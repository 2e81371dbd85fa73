"""Reference loop 1: the official CosyVoice2 LLM loop (PyTorch + transformers), one request at a time.

The model is the random twin itself, rebuilt in PyTorch with ``make_twin_lm`` (the same weights as
``llm.onnx`` of ``random/<size>``; the ONNX files are not used). Each request runs as the official
``Qwen2LM.inference`` does (cosyvoice/llm/llm.py, under ``torch.inference_mode``): the prefix
``[sos] + text + [task_id] + prompt speech`` in one ``Qwen2ForCausalLM`` call, then one call per
token with ``past_key_values`` (a transformers ``DynamicCache``) and ``output_hidden_states=True``
(so, as in the official code, the text ``lm_head`` is computed too and thrown away),
``llm_decoder(hidden[:, -1]).log_softmax``, and the official ``ras_sampling`` (torch: nucleus
top-p 0.8 / top-k 25 by ``multinomial``, repetition window 10, tau_r 0.1). Stop tokens are masked
so every request generates exactly ``--tokens`` tokens. A wave of N requests arrives at once and
is served in arrival order, one request after the other. One JSON line per concurrency on stdout.

    python perf/official_style.py --model-dir /work/main/models/random/full [--concurrency 1,4,16,32]
"""
from __future__ import annotations

import time

import numpy as np

import common  # noqa: E402  (puts models/ on sys.path)


def _sizes(config: dict) -> str:
    from cosyvoice_onnx.twin_llm import LLM_SPECS

    llm = config["llm"]
    for size, spec in LLM_SPECS.items():
        if all(llm[k] == spec[k] for k in ("hidden_size", "num_layers", "num_heads", "num_kv_heads", "head_dim",
                                            "intermediate_size")):
            return size
    raise SystemExit("official_style.py rebuilds a random twin (make_twin_lm); this model directory's "
                     f"llm shape matches no twin size: {llm}")


class OfficialLoop:
    def __init__(self, args, config: dict):
        import torch
        from cosyvoice_onnx.twin_llm import make_twin_lm

        torch.set_num_threads(args.threads)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:
            pass
        self.torch = torch
        self.args = args
        llm = config["llm"]
        if not config["model"].get("random_weights"):
            common.log("official_style: the directory is not a random twin; the loop runs the twin of its shape")
        size = _sizes(config)
        t0 = time.perf_counter()
        self.lm = make_twin_lm(size, llm["text_vocab"], seed=0)   # generate.py's default seed
        self.lm.llm.model.set_attn_implementation(args.attn)
        common.log(f"official_style: built the {size} twin in PyTorch in {time.perf_counter() - t0:.1f} s "
                   f"(attention {args.attn}, text head {'on' if args.text_head else 'off'})")
        self.text_vocab, self.sts = llm["text_vocab"], llm["speech_token_size"]
        self.stop = list(llm["stop_tokens"])
        s = config["sampling"]
        self.top_p, self.top_k, self.win, self.tau_r = s["top_p"], s["top_k"], s["win_size"], s["tau_r"]

    # -- the official sampling (cosyvoice/utils/common.py), torch ---------------------------------
    def nucleus_sampling(self, weighted_scores, gen):
        torch = self.torch
        prob, indices = [], []
        cum_prob = 0.0
        sorted_value, sorted_idx = weighted_scores.softmax(dim=0).sort(descending=True, stable=True)
        for i in range(len(sorted_idx)):
            if cum_prob < self.top_p and len(prob) < self.top_k:
                cum_prob += sorted_value[i]
                prob.append(sorted_value[i])
                indices.append(sorted_idx[i])
            else:
                break
        prob = torch.tensor(prob).to(weighted_scores)
        indices = torch.tensor(indices, dtype=torch.long)
        return indices[prob.multinomial(1, replacement=True, generator=gen)]

    def ras_sampling(self, weighted_scores, decoded_tokens, gen):
        torch = self.torch
        top_ids = self.nucleus_sampling(weighted_scores, gen)
        rep_num = (torch.tensor(decoded_tokens[-self.win:]) == top_ids).sum().item()
        if rep_num >= self.win * self.tau_r:
            top_ids = weighted_scores.softmax(dim=0).multinomial(1, replacement=True, generator=gen)
        return top_ids

    # -- one request, as Qwen2LM.inference ---------------------------------------------------------
    def inference(self, req, text, speech, tokens, deadline, steps=None) -> bool:
        torch = self.torch
        from transformers import DynamicCache

        lm = self.lm
        model = lm.llm.model
        gen = torch.Generator().manual_seed((self.args.seed << 20) + req.index)
        with torch.inference_mode():
            text_emb = model.model.embed_tokens(torch.from_numpy(text)[None])
            speech_emb = lm.speech_embedding(torch.from_numpy(speech)[None])
            sos = lm.llm_embedding.weight[lm.sos].reshape(1, 1, -1)
            task = lm.llm_embedding.weight[lm.task_id].reshape(1, 1, -1)
            lm_input = torch.concat([sos, text_emb, task, speech_emb], dim=1)
            cache = DynamicCache(config=model.config)
            out_tokens = []
            for i in range(tokens):
                t0 = time.perf_counter()
                # forward_one_step. The official passes attention_mask=masks[:, -1, :] (all ones, the
                # new positions only), which transformers 4.51 treats as no mask; transformers 5 would
                # misread that short mask, so no mask is passed: the same attention.
                if self.args.text_head:
                    outs = model(inputs_embeds=lm_input, output_hidden_states=True, return_dict=True,
                                 use_cache=True, past_key_values=cache)
                    y_pred, cache = outs.hidden_states[-1], outs.past_key_values
                else:   # the decoder stack alone: no text lm_head (not what the official code does)
                    outs = model.model(inputs_embeds=lm_input, use_cache=True, past_key_values=cache)
                    y_pred, cache = outs.last_hidden_state, outs.past_key_values
                logp = lm.llm_decoder(y_pred[:, -1]).log_softmax(dim=-1)
                tm = time.perf_counter()
                logp[:, self.stop] = -float("inf")   # ignore eos: exactly `tokens` tokens
                top_ids = int(self.ras_sampling(logp.squeeze(dim=0), out_tokens, gen))
                t1 = time.perf_counter()
                req.tokens.append(top_ids)
                req.token_times.append(t1)
                out_tokens.append(top_ids)
                if steps is not None:
                    steps["prefill" if i == 0 else "decode"].append(tm - t0)
                    steps["sample"].append(t1 - tm)
                if t1 >= deadline and i + 1 < tokens:
                    return False
                lm_input = lm.speech_embedding.weight[top_ids].reshape(1, 1, -1)
        return True

    def serve_wave(self, reqs, deadline, seed, steps) -> bool:
        """Requests arrived together; served one after the other in arrival order."""
        rng = np.random.default_rng(seed)
        prefixes = [common.prefix_tokens(rng, self.args.prefix, self.text_vocab, self.sts) for _ in reqs]
        for req, (text, speech) in zip(reqs, prefixes):
            if not self.inference(req, text, speech, self.args.tokens, deadline, steps):
                return False
        return True


def _sequential_estimates(wave, n: int, args) -> dict:
    """For a cut wave: the censored percentiles extrapolated from the requests that finished.

    Served one after the other, request k (1-based) starts when request k-1 ends, so its latency is
    about (k - 1) * mean service time + the mean latency within its own service."""
    import math

    fc = min(args.first_chunk_tokens, args.tokens)
    start, service, within = wave.t_start, [], {1: [], fc: []}
    for r in wave.requests:
        if len(r.token_times) < args.tokens:
            break
        service.append(r.token_times[-1] - start)
        for k in within:
            within[k].append(r.token_times[k - 1] - start)
        start = r.token_times[-1]
    if not service:
        return {}
    out = {}
    for name, k in (("ttft", 1), ("first_chunk", fc)):
        for q in (50, 90):
            rank = max(1, math.ceil(q / 100 * n))
            est = (rank - 1) * float(np.mean(service)) + float(np.mean(within[k]))
            out[f"{name}_p{q}_ms_estimate"] = round(1e3 * est, 1)
    out["service_s_mean"] = round(float(np.mean(service)), 2)
    return out


def main(argv=None) -> int:
    def extra(p):
        p.add_argument("--attn", default="sdpa", choices=["sdpa", "eager"],
                       help="transformers attention implementation (official default: sdpa)")
        p.add_argument("--no-text-head", dest="text_head", action="store_false",
                       help="run Qwen2Model without the unused text lm_head (151936 x hidden) - not what the official code does")
    args = common.parse_args(__doc__.split("\n\n")[0], argv, extra)
    config = common.load_model_json(args.model_dir)
    loop = OfficialLoop(args, config)
    if not args.no_warmup:   # one short request: kernels and allocator warm (shapes vary anyway)
        t0 = time.perf_counter()
        rng = np.random.default_rng(12345)
        text, speech = common.prefix_tokens(rng, args.prefix, loop.text_vocab, loop.sts)
        loop.inference(common.Request(index=-1, arrival=t0), text, speech, 4, float("inf"))
        common.log(f"official_style: warm-up {time.perf_counter() - t0:.1f} s")
    for n in args.concurrency_list:
        if args.wait_quiet > 0:
            common.wait_quiet(args.wait_quiet)
        waves = common.run_configuration(loop.serve_wave, n, args, args.seed * 1000 + n)
        line = common.summarize("official_style", n, waves, args, {
            "model": config["model"]["variant"],
            "attention": args.attn, "text_head": args.text_head,
        })
        if line["censored"]:
            line.update(_sequential_estimates(waves[0], n, args))
        common.emit(line)
        common.log(f"official_style: concurrency {n}: {line['tokens_per_second']} tokens/s, "
                   f"decode step {line['decode_step_ms_p50']} ms, {line['requests']} requests")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
