"""The front end of a model directory: text tokenizer, speech tokenizer and speaker-embedding graphs.

Twins (random/, tests)
    * :func:`make_twin_tokenizer`: a small deterministic Qwen2-style byte-level BPE plus CosyVoice2's
      special tokens, written as one ``tokenizer.json``.
    * :func:`make_twin_speech_tokenizer`: ``speech_tokenizer.onnx`` with the contract's I/O
      (Whisper log-mel → 25 Hz tokens in ``[0, 6561)``), random weights, ``N = ceil(T / 4)``.
    * :func:`make_twin_campplus`: ``campplus.onnx`` with the contract's I/O (Kaldi fbank → 192-dim
      embedding), random weights.

Export (export/)
    * :func:`export_official_tokenizer`: Qwen2's tokenizer + CosyVoice2Tokenizer's special tokens →
      ``tokenizer.json``.
    * :func:`adopt_official_onnx`: the official ``speech_tokenizer_v2.onnx`` / ``campplus.onnx`` with
      their inputs and outputs renamed (by position) to the contract's names.

Everything here is deterministic: the same arguments give byte-identical files.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# --------------------------------------------------------------------------------------------
# Text tokenizer
# --------------------------------------------------------------------------------------------

#: CosyVoice2Tokenizer's special tokens, in the order they get their ids (eos/pad first, then the
#: ``additional_special_tokens`` list). In the real Qwen2 vocabulary the first three already exist
#: (151643 … 151645) and keep their ids; the other 17 are appended from 151646 on.
SPECIAL_TOKENS = (
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|endofprompt|>",
    "[breath]", "<strong>", "</strong>", "[noise]",
    "[laughter]", "[cough]", "[clucking]", "[accent]",
    "[quick_breath]",
    "<laughter>", "</laughter>",
    "[hissing]", "[sigh]", "[vocalized-noise]",
    "[lipsmack]", "[mn]",
)

#: The special tokens a Qwen2 base tokenizer already has (``added_tokens_decoder`` of its config).
QWEN2_BASE_SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")

#: Qwen2's pre-tokenizer split pattern (the tokenizer.json of Qwen2 / Qwen2.5, transformers'
#: ``tokenization_qwen2.PRETOKENIZE_REGEX``).
QWEN2_SPLIT_REGEX = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
)

# The twin's training text: what a TTS API receives (Chinese and English prose, dialogue, numbers,
# dates, prices, units, punctuation of both scripts). Fixed here so training is reproducible.
_TWIN_CORPUS = """\
收到取消预约的短信后，我立刻给客服打了电话。
今天天气很好，我们一起去公园散步吧！
欢迎使用语音合成服务，请在提示音后说出您的问题。
你好，我是你的智能语音助手，有什么可以帮你的吗？
希望你以后能够做得比我还好哟。
八百标兵奔北坡，炮兵并排北边跑。
北京时间2024年3月15日上午9点30分，会议正式开始。
这件衬衫打八折以后是128.50元，比原价便宜了32元。
请拨打客服热线400-820-8820，我们的工作时间是早上8点到晚上10点。
他跑完了全程42.195公里，用时3小时05分。
温度：-5℃到12℃，湿度65%，东北风3到4级。
在他讲述那个荒诞故事的过程中，他突然停下来，因为他自己也被逗笑了。
人工智能正在改变我们的生活方式，从语音识别到机器翻译，应用越来越广泛。
“你真的确定吗？”她小声地问。“当然，”他回答说，“我从来没有这么确定过。”
第一章：春天来了，小草从地下探出头来，花儿也笑了。
请注意，本次列车开往上海虹桥站，下一站是南京南站。
我们的目标是让每一个人都能听到自然、流畅、富有感情的声音。
春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。
床前明月光，疑是地上霜。举头望明月，低头思故乡。
这个问题有三种解法：第一，直接计算；第二，用公式推导；第三，画图分析。
妈妈说：“早点睡觉，明天还要上学呢。”
经济学家预测，今年的增长率将达到5.2%左右。
会议室在三楼，电梯出来右转就到了。
他们在海边度过了一个难忘的周末，看日出、捡贝壳、吃海鲜。
对不起，我没有听清楚，请您再说一遍好吗？
谢谢大家的支持，我们下期节目再见！
Hello, and welcome to the text-to-speech service. How can I help you today?
The quick brown fox jumps over the lazy dog.
On March 15th, 2024, at 9:30 a.m., the meeting officially began.
Please call our hotline at 1-800-555-0199; we're open from 8 AM to 10 PM.
The total comes to $128.50, which is 20% off the original price of $160.63.
She said, "I don't think that's a good idea," and walked away.
It's a beautiful day, isn't it? Let's go for a walk in the park!
Dr. Smith's flight (UA 857) lands at 6:45 p.m. on Friday, June 7.
Artificial intelligence is changing the way we live, work, and communicate.
In 1969, Neil Armstrong became the first person to walk on the Moon.
The temperature will range from -5 to 12 degrees Celsius, with 65% humidity.
I'd like to order two large pizzas, one with mushrooms and one with pepperoni.
Version 2.0 of the API supports streaming, batching, and voice cloning.
Turn left at the second traffic light, then go straight for about 300 meters.
Once upon a time, there lived a king who had three beautiful daughters.
We'll meet again next Tuesday at the same time; don't be late!
Your order #A-20931 has been shipped and should arrive within 3-5 business days.
The speech synthesis model converts written text into natural, expressive audio.
Thank you for listening, and have a wonderful evening.
我昨天买了一台新的laptop，它的CPU是8核的，内存有16GB。
这款App的下载量已经超过了1000万次，用户评分4.8分。
请把这份report在Friday之前发给我，谢谢！
OK，我们明天上午10:00在Starbucks见面。
他用English说了一句“Nice to meet you”，大家都笑了。
我的邮箱是 service@example.com，网址是 https://www.example.com/help?id=42 。
电话号码：+86 138-0013-8000；邮编：100080。
1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 100, 1000, 2025, 3.14159, 0.5, 1/2, 50%.
一、二、三、四、五、六、七、八、九、十、百、千、万、亿。
——真的吗？……好吧，我相信你。
《红楼梦》是中国古典四大名著之一；【注意】请勿外传。
Wait... really?! Yes -- absolutely; no doubt about it.
各位旅客请注意，由于天气原因，您乘坐的航班将延误约两个小时。
根据最新统计，全市共有常住人口2189.3万人，比上年增加了0.7%。
孩子们在操场上追逐打闹，老师站在一旁微笑着看着他们。
如果您需要人工服务，请按零；查询余额，请按一；办理挂失，请按二。
这家餐厅的招牌菜是红烧肉和清蒸鲈鱼，味道非常地道。
昨晚的比赛非常精彩，主队在最后一分钟以3比2逆转获胜。
科学家们发现了一种新的材料，它可以在常温下实现超导。
读书使人充实，讨论使人机智，笔记使人准确。
小明每天早上六点起床，先跑步半小时，然后吃早饭去上学。
请您保管好随身携带的物品，祝您旅途愉快。
The weather forecast says it will rain tomorrow afternoon, so bring an umbrella.
According to the latest report, sales increased by 15.7% in the third quarter.
Ladies and gentlemen, the flight to London has been delayed by approximately two hours.
My grandmother used to tell us stories about her childhood in a small village.
If you need further assistance, press zero to speak with an operator.
The museum opens at nine o'clock and closes at five thirty on weekdays.
Learning a new language takes patience, practice, and a little bit of courage.
He whispered, "Don't worry, everything is going to be all right."
The conference will take place in Shanghai from October 12 to October 14.
Scientists have discovered a new material that becomes superconducting at room temperature.
Our team has grown from 5 people to more than 120 employees in just three years.
Please remember to save your work before shutting down the computer.
Happy birthday! I hope all your wishes come true this year.
这次旅行我们去了Paris、London和New York，一共拍了2000多张照片。
他的GPA是3.9，TOEFL考了110分，最后拿到了MIT的offer。
"""


def _twin_pipeline(tokenizer):
    """Qwen2's pipeline: NFC, regex split + ByteLevel (no prefix space), ByteLevel decoder."""
    from tokenizers import Regex, decoders, normalizers, pre_tokenizers, processors

    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_SPLIT_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
    ])
    tokenizer.decoder = decoders.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    # Qwen2's post-processor: ByteLevel, which only adjusts offsets (adds no BOS/EOS).
    tokenizer.post_processor = processors.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)


def _train_twin_bpe(vocab_size: int):
    """The twin's byte-level BPE without any added token."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE(unk_token=None, continuing_subword_prefix="", end_of_word_suffix="",
                                     fuse_unk=False, byte_fallback=False))
    _twin_pipeline(tokenizer)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, min_frequency=0, show_progress=False, special_tokens=[],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    lines = _TWIN_CORPUS.splitlines(keepends=True)
    tokenizer.train_from_iterator(lines, trainer=trainer, length=len(lines))
    return tokenizer


def _add_specials(tokenizer, tokens) -> None:
    from tokenizers import AddedToken

    tokenizer.add_special_tokens([
        AddedToken(t, single_word=False, lstrip=False, rstrip=False, normalized=False, special=True)
        for t in tokens])


def make_twin_tokenizer(out_path: Path, vocab_size: int = 2048) -> int:
    """Write the twin ``tokenizer.json`` and return its total vocabulary size (BPE + specials).

    A Qwen2-like byte-level BPE (NFC normaliser, Qwen2's split regex + ByteLevel pre-tokenizer,
    ByteLevel decoder, ByteLevel post-processor that adds no token) trained on the fixed corpus above
    to ``vocab_size`` entries (fewer if the corpus runs out of pairs), then :data:`SPECIAL_TOKENS`
    appended in order as added special tokens. Any NFC text encodes (every byte is in the base
    alphabet) and decodes back exactly. The same ``vocab_size`` gives a byte-identical file.
    """
    tokenizer = _train_twin_bpe(vocab_size)
    _add_specials(tokenizer, SPECIAL_TOKENS)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(tokenizer.to_str(pretty=True), encoding="utf-8")
    return tokenizer.get_vocab_size(with_added_tokens=True)


def make_qwen_like_dir(out_dir: Path, vocab_size: int = 2048, base_specials=QWEN2_BASE_SPECIALS,
                       layout: str = "tokenizer.json") -> int:
    """A stand-in for the official Qwen2 tokenizer directory (``CosyVoice-BlankEN``), for tests.

    The twin BPE with only ``base_specials`` added (Qwen2 ships ``<|endoftext|>``, ``<|im_start|>``
    and ``<|im_end|>`` right after its BPE vocabulary). ``layout="tokenizer.json"`` saves it with
    ``transformers`` (``tokenizer.json`` + ``tokenizer_config.json``); ``layout="vocab_merges"``
    writes the older ``vocab.json`` + ``merges.txt`` + ``tokenizer_config.json`` (with
    ``added_tokens_decoder``) form. Returns the BPE vocabulary size (without any added token).
    """
    tokenizer = _train_twin_bpe(vocab_size)
    base = tokenizer.get_vocab_size(with_added_tokens=False)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if layout == "tokenizer.json":
        from transformers import PreTrainedTokenizerFast

        if base_specials:
            _add_specials(tokenizer, base_specials)
        PreTrainedTokenizerFast(tokenizer_object=tokenizer).save_pretrained(str(out_dir))
        cfg = json.loads((out_dir / "tokenizer_config.json").read_text(encoding="utf-8"))
    elif layout == "vocab_merges":
        model = json.loads(tokenizer.to_str())["model"]
        (out_dir / "vocab.json").write_text(json.dumps(model["vocab"], ensure_ascii=False), encoding="utf-8")
        merges = [" ".join(m) if isinstance(m, list) else m for m in model["merges"]]
        (out_dir / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
        cfg = {"added_tokens_decoder": {
            str(base + i): {"content": t, "lstrip": False, "normalized": False, "rstrip": False,
                            "single_word": False, "special": True}
            for i, t in enumerate(base_specials)},
            "bos_token": None, "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>",
            "unk_token": None, "errors": "replace", "clean_up_tokenization_spaces": False}
    else:
        raise ValueError(f"unknown layout {layout!r}")
    cfg["tokenizer_class"] = "Qwen2Tokenizer"
    cfg["model_max_length"] = 32768
    (out_dir / "tokenizer_config.json").write_text(json.dumps(cfg, indent=2, ensure_ascii=False),
                                                   encoding="utf-8")
    return base


def export_official_tokenizer(qwen_dir: Path, out_path: Path) -> int:
    """The export's tokenizer step: Qwen2's tokenizer plus CosyVoice2's specials → ``tokenizer.json``.

    Loads ``qwen_dir`` with ``transformers.AutoTokenizer`` and adds the special tokens exactly as
    ``CosyVoice2Tokenizer`` does (``eos_token``/``pad_token`` ``<|endoftext|>`` and the
    ``additional_special_tokens`` list), then writes the backend tokenizer as one file. Tokens already
    in the vocabulary keep their ids; the others are appended in order. Returns the total vocabulary
    size (the LLM text-embedding rows must be at least this).
    """
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(qwen_dir))
    tok.add_special_tokens({
        "eos_token": SPECIAL_TOKENS[0],
        "pad_token": SPECIAL_TOKENS[0],
        "additional_special_tokens": list(SPECIAL_TOKENS[1:]),
    })
    backend = tok.backend_tokenizer
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(backend.to_str(pretty=True), encoding="utf-8")
    # The file must reproduce the transformers tokenizer on plain text and on every special.
    from tokenizers import Tokenizer

    reloaded = Tokenizer.from_file(str(out_path))
    probe = "收到取消预约的短信后，我立刻给客服打了电话。Hello, world! 12.5% [breath]<|endofprompt|>"
    want = tok(probe, add_special_tokens=True)["input_ids"]
    got = reloaded.encode(probe, add_special_tokens=True).ids
    if list(want) != list(got):
        raise RuntimeError(f"tokenizer.json disagrees with transformers: {got} != {want}")
    for t in SPECIAL_TOKENS:
        if reloaded.token_to_id(t) is None or reloaded.encode(t).ids != [reloaded.token_to_id(t)]:
            raise RuntimeError(f"special token {t!r} is not a single added token")
    return reloaded.get_vocab_size(with_added_tokens=True)


# --------------------------------------------------------------------------------------------
# Speech tokenizer and speaker-embedding graphs
# --------------------------------------------------------------------------------------------

SPEECH_TOKEN_SIZE = 6561          # 3^8: the FSQ codebook of the official speech_tokenizer_v2
_OPSET = 17
_IR_VERSION = 8                   # readable by every ONNX Runtime since 1.10


def _f32(a) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(a, dtype=np.float32))


def _save(model: onnx.ModelProto, out_path: Path) -> None:
    onnx.checker.check_model(model, full_check=True)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_bytes(model.SerializeToString(deterministic=True))


def _model(graph: onnx.GraphProto, doc: str) -> onnx.ModelProto:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", _OPSET)],
                              producer_name="cosyvoice_onnx.frontend", doc_string=doc)
    model.ir_version = _IR_VERSION
    return model


def speech_tokenizer_tokens(t: int) -> int:
    """The twin speech tokenizer's output length for ``T`` mel frames: ``N = ceil(T / 4)``
    (two convolutions with kernel 3, stride 2, padding 1: ``T → ceil(T / 2) → ceil(T / 4)``)."""
    return -(-t // 4)


def make_twin_speech_tokenizer(out_path: Path, seed: int, size: str = "tiny") -> int:
    """Write a random-weight ``speech_tokenizer.onnx`` with the contract's inputs and outputs.

    ``feats`` float32 ``[1, 128, T]`` and ``feats_length`` int32 ``[1]`` → ``speech_tokens`` int64
    ``[1, N]`` with ``N = ceil(T / 4)`` (:func:`speech_tokenizer_tokens`). Frames at or past
    ``feats_length`` are zeroed first; then Conv1d(128→32, k3, s2, p1) → ReLU → Conv1d(32→32, k3, s2,
    p1) → ReLU → per-frame normalisation over channels → Linear(32→8) → ×2 → tanh → round → +1,
    read as 8 base-3 digits (finite scalar quantisation like the official tokenizer): tokens in
    ``[0, 6561)`` that follow the audio. About 64 KB. ``size="full"`` gives the same graph: the official
    tokenizer's cost is not part of what the twins measure. Returns the file size in bytes.
    """
    if size not in ("tiny", "full"):
        raise ValueError(f"size must be 'tiny' or 'full', got {size!r}")
    rng = np.random.default_rng(seed)
    c = 32
    w1 = rng.standard_normal((c, 128, 3)) / math.sqrt(128 * 3)
    b1 = rng.standard_normal(c) * 0.1
    w2 = rng.standard_normal((c, c, 3)) / math.sqrt(c * 3)
    b2 = rng.standard_normal(c) * 0.1
    wp = rng.standard_normal((c, 8)) / math.sqrt(c)
    bp = rng.standard_normal(8) * 0.1
    digits = 3.0 ** np.arange(8)
    inits = [numpy_helper.from_array(_f32(v), name) for name, v in [
        ("conv1.weight", w1), ("conv1.bias", b1), ("conv2.weight", w2), ("conv2.bias", b2),
        ("proj.weight", wp), ("proj.bias", bp), ("fsq.scale", 2.0), ("fsq.one", 1.0),
        ("fsq.digits", digits.reshape(8, 1)), ("norm.eps", 1e-5)]]
    inits += [numpy_helper.from_array(np.array(v, dtype=np.int64), name) for name, v in [
        ("c.zero", 0), ("c.one", 1), ("c.axis2", [2])]]
    n = helper.make_node
    nodes = [
        # mask = arange(T) < feats_length, broadcast over the 128 bins
        n("Shape", ["feats"], ["T1"], start=2, end=3),
        n("Squeeze", ["T1"], ["T0"]),
        n("Range", ["c.zero", "T0", "c.one"], ["frame_idx"]),
        n("Cast", ["feats_length"], ["len64"], to=TensorProto.INT64),
        n("Less", ["frame_idx", "len64"], ["valid"]),
        n("Cast", ["valid"], ["valid_f"], to=TensorProto.FLOAT),
        n("Mul", ["feats", "valid_f"], ["x0"]),
        n("Conv", ["x0", "conv1.weight", "conv1.bias"], ["h1"], kernel_shape=[3], strides=[2], pads=[1, 1]),
        n("Relu", ["h1"], ["a1"]),
        n("Conv", ["a1", "conv2.weight", "conv2.bias"], ["h2"], kernel_shape=[3], strides=[2], pads=[1, 1]),
        n("Relu", ["h2"], ["a2"]),
        n("Transpose", ["a2"], ["frames"], perm=[0, 2, 1]),                       # [1, N, C]
        n("ReduceMean", ["frames"], ["mean"], axes=[-1], keepdims=1),
        n("Sub", ["frames", "mean"], ["centered"]),
        n("Mul", ["centered", "centered"], ["sq"]),
        n("ReduceMean", ["sq"], ["var"], axes=[-1], keepdims=1),
        n("Add", ["var", "norm.eps"], ["var_eps"]),
        n("Sqrt", ["var_eps"], ["std"]),
        n("Div", ["centered", "std"], ["normed"]),
        n("MatMul", ["normed", "proj.weight"], ["p0"]),
        n("Add", ["p0", "proj.bias"], ["p1"]),
        n("Mul", ["p1", "fsq.scale"], ["p2"]),
        n("Tanh", ["p2"], ["p3"]),
        n("Round", ["p3"], ["q0"]),
        n("Add", ["q0", "fsq.one"], ["q1"]),                                       # digits in {0, 1, 2}
        n("MatMul", ["q1", "fsq.digits"], ["code_f"]),                             # [1, N, 1]
        n("Squeeze", ["code_f", "c.axis2"], ["code_sq"]),
        n("Cast", ["code_sq"], ["speech_tokens"], to=TensorProto.INT64),
    ]
    graph = helper.make_graph(
        nodes, "speech_tokenizer_twin",
        [helper.make_tensor_value_info("feats", TensorProto.FLOAT, [1, 128, "T"]),
         helper.make_tensor_value_info("feats_length", TensorProto.INT32, [1])],
        [helper.make_tensor_value_info("speech_tokens", TensorProto.INT64, [1, "N"])],
        initializer=inits)
    model = _model(graph, f"CosyVoice2 speech tokenizer twin (random weights, seed {seed}); N = ceil(T / 4)")
    _save(model, out_path)
    return Path(out_path).stat().st_size


def make_twin_campplus(out_path: Path, seed: int) -> int:
    """Write a random-weight ``campplus.onnx``: ``fbank`` float32 ``[1, T, 80]`` → ``embedding``
    float32 ``[1, 192]``.

    Frame MLP Linear(80→64) → ReLU, mean and standard deviation over frames (statistics pooling,
    as CAM++ ends with), Linear(128→192). Deterministic; different audio gives different embeddings.
    About 120 KB. Returns the file size in bytes.
    """
    rng = np.random.default_rng(seed)
    h = 64
    w1 = rng.standard_normal((80, h)) / math.sqrt(80)
    b1 = rng.standard_normal(h) * 0.1
    w2 = rng.standard_normal((2 * h, 192)) / math.sqrt(2 * h)
    b2 = rng.standard_normal(192) * 0.1
    inits = [numpy_helper.from_array(_f32(v), name) for name, v in [
        ("frame.weight", w1), ("frame.bias", b1), ("out.weight", w2), ("out.bias", b2), ("pool.eps", 1e-5)]]
    n = helper.make_node
    nodes = [
        n("MatMul", ["fbank", "frame.weight"], ["f0"]),
        n("Add", ["f0", "frame.bias"], ["f1"]),
        n("Relu", ["f1"], ["f2"]),                                                 # [1, T, H]
        n("ReduceMean", ["f2"], ["mean_k"], axes=[1], keepdims=1),
        n("Sub", ["f2", "mean_k"], ["dev"]),
        n("Mul", ["dev", "dev"], ["dev2"]),
        n("ReduceMean", ["dev2"], ["var"], axes=[1], keepdims=0),
        n("Add", ["var", "pool.eps"], ["var_eps"]),
        n("Sqrt", ["var_eps"], ["std"]),                                           # [1, H]
        n("ReduceMean", ["f2"], ["mean"], axes=[1], keepdims=0),                   # [1, H]
        n("Concat", ["mean", "std"], ["stats"], axis=1),                           # [1, 2H]
        n("MatMul", ["stats", "out.weight"], ["e0"]),
        n("Add", ["e0", "out.bias"], ["embedding"]),
    ]
    graph = helper.make_graph(
        nodes, "campplus_twin",
        [helper.make_tensor_value_info("fbank", TensorProto.FLOAT, [1, "T", 80])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [1, 192])],
        initializer=inits)
    _save(_model(graph, f"CAM++ speaker embedding twin (random weights, seed {seed})"), out_path)
    return Path(out_path).stat().st_size


# --------------------------------------------------------------------------------------------
# Adopting the official front-end graphs
# --------------------------------------------------------------------------------------------

_ADOPT = {
    # kind: (contract input names and dtypes in the official feeding order, output name and dtype)
    "speech_tokenizer": ((("feats", TensorProto.FLOAT), ("feats_length", TensorProto.INT32)),
                         ("speech_tokens", TensorProto.INT64)),
    "campplus": ((("fbank", TensorProto.FLOAT),), ("embedding", TensorProto.FLOAT)),
}
_INTEGER_TYPES = {TensorProto.INT8, TensorProto.INT16, TensorProto.INT32, TensorProto.INT64,
                  TensorProto.UINT8, TensorProto.UINT16, TensorProto.UINT32, TensorProto.UINT64}
_EXTERNAL_DATA_THRESHOLD = 1_800_000_000     # protobuf's hard limit is 2 GiB


def _subgraphs(graph: onnx.GraphProto):
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                yield attr.g
            elif attr.type == onnx.AttributeProto.GRAPHS:
                yield from attr.graphs


def _all_graphs(graph: onnx.GraphProto):
    yield graph
    for sub in _subgraphs(graph):
        yield from _all_graphs(sub)


def _tensor_names(graph: onnx.GraphProto) -> set[str]:
    names: set[str] = set()
    for g in _all_graphs(graph):
        names.update(v.name for v in g.input)
        names.update(v.name for v in g.output)
        names.update(v.name for v in g.value_info)
        names.update(t.name for t in g.initializer)
        names.update(t.values.name for t in g.sparse_initializer)
        for node in g.node:
            names.update(node.input)
            names.update(node.output)
    names.discard("")
    return names


def _rename_tensors(graph: onnx.GraphProto, mapping: dict[str, str]) -> None:
    """Rename tensors everywhere they are referenced, subgraphs included."""
    def r(name: str) -> str:
        return mapping.get(name, name)

    for g in _all_graphs(graph):
        for coll in (g.input, g.output, g.value_info):
            for v in coll:
                v.name = r(v.name)
        for t in g.initializer:
            t.name = r(t.name)
        for t in g.sparse_initializer:
            t.values.name = r(t.values.name)
            t.indices.name = r(t.indices.name)
        for node in g.node:
            for i, name in enumerate(node.input):
                node.input[i] = r(name)
            for i, name in enumerate(node.output):
                node.output[i] = r(name)
        for ann in g.quantization_annotation:
            ann.tensor_name = r(ann.tensor_name)


def _fresh(base: str, taken: set[str]) -> str:
    name, i = base, 0
    while name in taken:
        i += 1
        name = f"{base}_{i}"
    taken.add(name)
    return name


def _append_output_op(model: onnx.ModelProto, op: str, extra_inputs=(), **attrs) -> None:
    """Route graph output 0 through one more node: ``out`` becomes ``op(out_before, *extra_inputs)``."""
    g = model.graph
    out = g.output[0].name
    taken = _tensor_names(g)
    before = _fresh(f"{out}__before_{op.lower()}", taken)
    _rename_tensors(g, {out: before})
    g.output[0].name = out                      # the renaming touched the graph output too
    g.node.append(helper.make_node(op, [before, *extra_inputs], [out], **attrs))


def _save_adopted(model: onnx.ModelProto, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    data = dst.with_name(dst.name + ".data")
    if data.exists():
        data.unlink()
    if model.ByteSize() > _EXTERNAL_DATA_THRESHOLD:
        onnx.save_model(model, str(dst), save_as_external_data=True, all_tensors_to_one_file=True,
                        location=data.name, size_threshold=1024)
    else:
        onnx.save_model(model, str(dst))
    onnx.checker.check_model(str(dst))


def _probe(dst: Path, kind: str) -> np.ndarray:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(dst), sess_options=opts, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    if kind == "speech_tokenizer":
        t = 200                                         # 2 s of 100 Hz Whisper frames
        feeds = {"feats": rng.uniform(-1.0, 1.0, (1, 128, t)).astype(np.float32),
                 "feats_length": np.array([t], dtype=np.int32)}
    else:
        feeds = {"fbank": rng.standard_normal((1, 200, 80)).astype(np.float32)}
    return sess.run(None, feeds)[0]


def adopt_official_onnx(src: Path, dst: Path, kind: str) -> dict:
    """Copy an official front-end graph to ``dst`` with the contract's input and output names.

    ``kind`` is ``"speech_tokenizer"`` (official ``speech_tokenizer_v2.onnx``: inputs 0 and 1 become
    ``feats`` and ``feats_length``, output 0 ``speech_tokens``) or ``"campplus"`` (input 0 ``fbank``,
    output 0 ``embedding``). The official front end feeds these graphs by position
    (``get_inputs()[i]``, initializers not counted, ``run(None, …)[0]``), so renaming by position is
    exact. Every reference to a renamed tensor is rewritten (subgraphs included); a tensor that
    already has one of the contract names is renamed out of the way first. Other outputs are
    dropped from the graph's outputs (their nodes stay). If the token output is another integer
    type, a ``Cast`` to int64 is appended; if a probe run shows an output rank other than 2, a
    ``Reshape`` to ``[1, -1]`` is appended. Everything else (nodes, weights, opsets, metadata) is kept.
    The result passes ``onnx.checker`` and one ONNX Runtime run on random input.

    Returns what was done: ``{"inputs": [old names], "output": old name, "cast_from": dtype name or
    None, "reshaped_from": shape or None, "dropped_outputs": [...], "probe_shape": [...]}``.
    """
    if kind not in _ADOPT:
        raise ValueError(f"kind must be one of {sorted(_ADOPT)}, got {kind!r}")
    (want_inputs, (out_name, out_type)) = _ADOPT[kind]
    src, dst = Path(src), Path(dst)
    model = onnx.load(str(src))                   # external data, if any, is read from src's folder
    g = model.graph
    inits = {t.name for t in g.initializer} | {t.values.name for t in g.sparse_initializer}
    real_inputs = [v for v in g.input if v.name not in inits]
    if len(real_inputs) != len(want_inputs):
        raise ValueError(f"{src.name}: expected {len(want_inputs)} inputs for {kind}, "
                         f"found {[v.name for v in real_inputs]}")
    if not g.output:
        raise ValueError(f"{src.name}: the graph has no output")
    for v, (name, dtype) in zip(real_inputs, want_inputs):
        got = v.type.tensor_type.elem_type
        if got != dtype:
            raise ValueError(f"{src.name}: input {v.name!r} (→ {name}) is "
                             f"{TensorProto.DataType.Name(got)}, expected {TensorProto.DataType.Name(dtype)}")
    out = g.output[0]
    if out.name in {v.name for v in g.input} or out.name in inits:
        raise ValueError(f"{src.name}: output {out.name!r} is an input or a constant")
    out_elem = out.type.tensor_type.elem_type
    cast_from = None
    if out_elem != out_type:
        if kind == "speech_tokenizer" and out_elem in _INTEGER_TYPES:
            cast_from = TensorProto.DataType.Name(out_elem)
        else:
            raise ValueError(f"{src.name}: output {out.name!r} is {TensorProto.DataType.Name(out_elem)}, "
                             f"expected {TensorProto.DataType.Name(out_type)}")
    report = {"inputs": [v.name for v in real_inputs], "output": out.name, "cast_from": cast_from,
              "reshaped_from": None, "dropped_outputs": [v.name for v in g.output[1:]], "probe_shape": None}
    del g.output[1:]

    # Rename by position; first move any other tensor that already carries a target name.
    mapping = {v.name: name for v, (name, _) in zip(real_inputs, want_inputs)}
    mapping[out.name] = out_name
    taken = _tensor_names(g) | set(mapping.values())
    for target in list(mapping.values()):
        if target in _tensor_names(g) and mapping.get(target) is None:
            mapping[target] = _fresh(f"{target}__orig", taken)
    mapping = {old: new for old, new in mapping.items() if old != new}
    _rename_tensors(g, mapping)

    if cast_from is not None:
        _append_output_op(model, "Cast", to=TensorProto.INT64)
        g.output[0].type.tensor_type.elem_type = TensorProto.INT64
    _save_adopted(model, dst)
    result = _probe(dst, kind)
    if result.ndim != 2 or result.shape[0] != 1:
        report["reshaped_from"] = list(result.shape)
        model = onnx.load(str(dst))
        shape_name = _fresh(f"{out_name}__shape", _tensor_names(model.graph))
        model.graph.initializer.append(numpy_helper.from_array(np.array([1, -1], dtype=np.int64), shape_name))
        _append_output_op(model, "Reshape", [shape_name])
        shape = model.graph.output[0].type.tensor_type.shape
        shape.ClearField("dim")
        shape.dim.add().dim_value = 1
        if kind == "campplus":
            shape.dim.add().dim_value = 192
        else:
            shape.dim.add().dim_param = "N"
        _save_adopted(model, dst)
        result = _probe(dst, kind)
    report["probe_shape"] = list(result.shape)
    if kind == "speech_tokenizer":
        if result.dtype != np.int64 or result.size == 0 or result.min() < 0 or result.max() >= SPEECH_TOKEN_SIZE:
            raise ValueError(f"{src.name}: probe gave {result.dtype} tokens in "
                             f"[{result.min() if result.size else None}, {result.max() if result.size else None}]")
    else:
        if result.dtype != np.float32 or result.shape != (1, 192) or not np.all(np.isfinite(result)):
            raise ValueError(f"{src.name}: probe gave {result.dtype} {result.shape}, expected finite float32 [1, 192]")
    return report
