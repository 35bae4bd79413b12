"""Detoxify scoring benchmark: texts/s and peak RSS of full-size, randomly initialised models.

No weights can be downloaded here, so the models are the released architectures built from
their configs with random weights (the speed of a transformer does not depend on its
weights): BERT base as `original` (BertConfig() defaults, 6 outputs) and XLM-R base as
`multilingual` (vocabulary 250,002, 768 wide, 12 layers, 16 outputs). Tokenizers are made
from the texts so that tokenisation is realistic: a 30,522-entry WordPiece vocabulary of
the most frequent words (padded with dummy entries) for BERT, and a SentencePiece unigram
model trained on the texts for XLM-R.

For each model, precision (fp32; int8 = dynamic quantisation of the Linear layers) and
batch size it runs, for `--seconds` each:

- bare: the tokenizer (padding, truncation at 512) and one forward pass plus sigmoid per
  batch, as Detoxify's predict() does;
- detoxify: `DetoxifyModel.score` (windowing, label mapping, floats) around the same model,
  through `DetoxifyModel.from_loaded` (saving and re-loading a 1 GB checkpoint would add
  nothing to what is measured; `--via-checkpoint` does it anyway, to time the real load).

The modes of one configuration alternate call by call over the same texts, so that other
work on the machine slows them alike; the load average is reported beside the
figures, and CPU ms/text (the process's CPU time over texts) is less sensitive to it than
texts/s.

Peak RSS: Linux's per-process high-water mark (VmHWM in /proc/self/status), reset before
each call by writing 5 to /proc/self/clear_refs, so each figure is that mode's own peak;
where that reset is not allowed, ru_maxrss (the process's peak so far) is reported and the
`rss_method` field says so. tracemalloc would miss torch's allocations.

    .venv/bin/python benchmarks/detoxify_models.py [--arch bert,xlmr] [--batch 1,32]
        [--precision fp32,int8] [--seconds 20] [--threads N] [--via-checkpoint]
        [--json results.json]

Texts are the `tweet` column of shared/data/davidson-2017/labeled_data.csv when it is
present (they are never printed), else generated ones. Target: `detoxify` reaches at least
90% of `bare`'s texts/s.
"""

from __future__ import annotations

import argparse
import collections
import csv
import json
import os
import platform
import random
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import torch
import transformers
from tokenizers import normalizers, pre_tokenizers

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script: make `guardian` and `tests` importable

from guardian.scoring import detox  # noqa: E402
from guardian.scoring.assessor import Assessor  # noqa: E402
from guardian.scoring.detox import DetoxifyModel  # noqa: E402
from guardian.scoring.lite import LiteModel  # noqa: E402
from tests.detoxify_tiny import (  # noqa: E402
    BIAS_CLASSES,
    IDENTITY_CLASSES,
    ORIGINAL_CLASSES,
    train_sentencepiece,
    wordpiece_vocab,
    xlmr_tokenizer,
)

DATA = (Path(__file__).resolve().parents[2] / "shared" / "data" / "davidson-2017"
        / "labeled_data.csv")
TARGET_SHARE = 0.90
BERT_VOCAB = 30522
XLMR_VOCAB = 250002
SENTENCEPIECE_VOCAB = 32000


def load_texts() -> tuple[list[str], str]:
    """The corpus texts, or generated ones; and a description (never the texts)."""
    if DATA.is_file():
        with DATA.open(newline="", encoding="utf-8", errors="replace") as handle:
            texts = [t for row in csv.DictReader(handle) if (t := row.get("tweet") or "").strip()]
        if texts:
            return texts, f"davidson-2017 tweet column ({len(texts)} texts)"
    rng = random.Random(0)
    words = ["the", "street", "lamp", "bus", "late", "again", "thanks", "council", "library",
             "open", "closed", "why", "never", "always", "people", "park", "bins", "today"]
    texts = [" ".join(rng.choice(words) for _ in range(rng.randint(5, 30))) for _ in range(5000)]
    return texts, "generated (davidson-2017 not found)"


# --------------------------------------------------------------------------- memory

def _status_kb(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def reset_peak() -> str:
    """Reset the RSS high-water mark; return the method the peaks are measured with."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return "ru_maxrss (process peak so far; cannot reset)"
    return "VmHWM reset per run (/proc/self/clear_refs)"


def rss_mb() -> float:
    kb = _status_kb("VmRSS")
    return (kb or 0) / 1024


def peak_mb() -> float:
    kb = _status_kb("VmHWM")
    if kb is None:
        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024


# --------------------------------------------------------------------------- models

@dataclass
class Loaded:
    """The parts of a Detoxify object that DetoxifyModel uses."""

    model: torch.nn.Module
    tokenizer: transformers.PreTrainedTokenizerBase
    class_names: list[str]


def bert_tokenizer(texts: list[str], workdir: Path) -> transformers.PreTrainedTokenizerBase:
    normalizer = normalizers.BertNormalizer(lowercase=True)
    splitter = pre_tokenizers.BertPreTokenizer()
    counts: collections.Counter[str] = collections.Counter()
    for text in texts:
        counts.update(w for w, _ in splitter.pre_tokenize_str(normalizer.normalize_str(text)))
    words = [w for w, _ in counts.most_common()]
    vocab_file = workdir / "vocab.txt"
    vocab_file.write_text("\n".join(wordpiece_vocab(words, size=BERT_VOCAB)) + "\n",
                          encoding="utf-8")
    return transformers.BertTokenizer(vocab=str(vocab_file), model_max_length=512)


def build(arch: str, texts: list[str], workdir: Path) -> tuple[Loaded, str, dict[str, Any]]:
    torch.manual_seed(0)
    started = time.perf_counter()
    model: transformers.PreTrainedModel
    config: transformers.PretrainedConfig
    if arch == "bert":
        tokenizer = bert_tokenizer(texts, workdir)
        tokenizer_seconds = time.perf_counter() - started
        config = transformers.BertConfig(id2label=dict(enumerate(ORIGINAL_CLASSES)))
        model = transformers.BertForSequenceClassification(config)
        names, variant = [detox_name(c) for c in ORIGINAL_CLASSES], "original"
    else:
        tokenizer = xlmr_tokenizer(train_sentencepiece(texts, SENTENCEPIECE_VOCAB), 512)
        tokenizer_seconds = time.perf_counter() - started
        outputs = BIAS_CLASSES + IDENTITY_CLASSES
        config = transformers.XLMRobertaConfig(
            vocab_size=XLMR_VOCAB, hidden_size=768, num_hidden_layers=12,
            num_attention_heads=12, intermediate_size=3072, max_position_embeddings=514,
            type_vocab_size=1, layer_norm_eps=1e-5, id2label=dict(enumerate(outputs)))
        model = transformers.XLMRobertaForSequenceClassification(config)
        names, variant = list(BIAS_CLASSES), "multilingual"
    model.eval()  # type: ignore[no-untyped-call]
    info = {"tokenizer_seconds": round(tokenizer_seconds, 1),
            "build_seconds": round(time.perf_counter() - started - tokenizer_seconds, 1),
            "parameters_m": round(sum(p.numel() for p in model.parameters()) / 1e6, 1),
            "tokenizer_vocab": len(tokenizer)}
    return Loaded(model, tokenizer, names), variant, info


def detox_name(name: str) -> str:
    # Detoxify renames the original checkpoint's classes on load; do the same here.
    return {"toxic": "toxicity", "severe_toxic": "severe_toxicity",
            "identity_hate": "identity_attack"}.get(name, name)


def via_checkpoint(loaded: Loaded, arch: str, variant: str, workdir: Path
                   ) -> tuple[DetoxifyModel, float]:
    """Save a Detoxify-format checkpoint + config dir, load it through DetoxifyModel."""
    config_dir = workdir / f"{arch}-hf"
    loaded.tokenizer.save_pretrained(str(config_dir))
    model_config = getattr(loaded.model, "config", None)
    assert isinstance(model_config, transformers.PretrainedConfig)
    model_config.save_pretrained(str(config_dir))
    args = {"model_type": str(config_dir), "model_name": type(loaded.model).__name__,
            "tokenizer_name": type(loaded.tokenizer).__name__,
            "num_classes": model_config.num_labels}
    classes = ORIGINAL_CLASSES if arch == "bert" else BIAS_CLASSES
    checkpoint = workdir / f"{arch}.ckpt"
    torch.save({"config": {"arch": {"args": args}, "dataset": {"args": {"classes": classes}}},
                "state_dict": loaded.model.state_dict()}, checkpoint)
    started = time.perf_counter()
    model = DetoxifyModel(variant, checkpoint=checkpoint, config_dir=config_dir)
    return model, time.perf_counter() - started


# --------------------------------------------------------------------------- runs

def bare_scorer(loaded: Loaded) -> Callable[[list[str]], object]:
    def score(texts: list[str]) -> object:
        inputs = loaded.tokenizer(texts, return_tensors="pt", truncation=True, padding=True,
                                  max_length=512)
        with torch.inference_mode():
            return torch.sigmoid(loaded.model(**inputs).logits).tolist()
    return score


@dataclass
class Tally:
    texts: int = 0
    calls: int = 0
    wall: float = 0.0
    cpu: float = 0.0
    offset: int = 0
    peak_mb: float = 0.0
    peak_over_start_mb: float = 0.0


def compare(scorers: dict[str, Callable[[list[str]], object]], texts: list[str], batch: int,
            seconds: float) -> dict[str, dict[str, Any]]:
    """Run the scorers in turn, one batch each, until each has run for `seconds`.

    Alternating call by call keeps the comparison fair when other work shares the CPU: a
    busy spell hits every mode alike. Each mode walks the same consecutive batches of
    `texts` from the start, so all score the same texts.
    """
    for score in scorers.values():  # warm-up: the first calls allocate and pick kernels
        for start in range(0, 4 * batch, batch):
            score(texts[start:start + batch])
    tallies = {mode: Tally() for mode in scorers}
    method = ""
    load_before = os.getloadavg()[0]
    while any(t.wall < seconds for t in tallies.values()):
        for mode, score in scorers.items():
            tally = tallies[mode]
            if tally.wall >= seconds:
                continue
            chunk = texts[tally.offset:tally.offset + batch]
            if len(chunk) < batch:
                tally.offset = 0
                chunk = texts[:batch]
            method = reset_peak()
            rss_before = rss_mb()
            cpu_start, started = time.process_time(), time.perf_counter()
            score(chunk)
            tally.wall += time.perf_counter() - started
            tally.cpu += time.process_time() - cpu_start
            tally.offset += batch
            tally.texts += batch
            tally.calls += 1
            peak = peak_mb()
            tally.peak_mb = max(tally.peak_mb, peak)
            tally.peak_over_start_mb = max(tally.peak_over_start_mb, peak - rss_before)
    load = round(max(load_before, os.getloadavg()[0]), 2)
    return {mode: {"texts": t.texts, "seconds": round(t.wall, 2),
                   "texts_per_s": round(t.texts / t.wall, 2),
                   "ms_per_batch": round(1000 * t.wall / max(t.calls, 1), 1),
                   "cpu_ms_per_text": round(1000 * t.cpu / max(t.texts, 1), 1),
                   "peak_rss_mb": round(t.peak_mb),
                   "peak_over_start_mb": round(t.peak_over_start_mb),
                   "rss_method": method, "load_average": load}
            for mode, t in tallies.items()}


def run_arch(arch: str, texts: list[str], args: argparse.Namespace, workdir: Path
             ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    print(f"[{arch}] building tokenizer and model ...", file=sys.stderr)
    loaded, variant, info = build(arch, texts, workdir)
    info["rss_after_build_mb"] = round(rss_mb())
    results: list[dict[str, Any]] = []
    lite = LiteModel()
    real: DetoxifyModel | None = None
    if args.via_checkpoint and "fp32" in args.precision:
        real, load_seconds = via_checkpoint(loaded, arch, variant, workdir)
        info["checkpoint_load_seconds"] = round(load_seconds, 1)
    for precision in args.precision:
        if precision == "int8":
            started = time.perf_counter()
            loaded.model = detox.quantize_dynamic_int8(loaded.model)
            info["quantize_seconds"] = round(time.perf_counter() - started, 1)
            info["rss_after_quantize_mb"] = round(rss_mb())
        for batch in args.batch:
            wrapper = DetoxifyModel.from_loaded(loaded, variant, batch_size=batch,
                                                version=f"bench-{arch}-{precision}")
            # "stage" is Guardian's whole scoring stage around the model: language,
            # normalisation, lexicons and rules, levels, attribution by the lite model, mask.
            stage = Assessor(model=wrapper, attributor=lite)
            scorers: dict[str, Callable[[list[str]], object]] = {
                "bare": bare_scorer(loaded), "detoxify": wrapper.score, "stage": stage.assess}
            if real is not None and precision == "fp32":
                real.batch_size = batch
                scorers["detoxify-loaded"] = real.score
            print(f"[{arch}] {precision} batch {batch}: {', '.join(scorers)} ...",
                  file=sys.stderr)
            for mode, figures in compare(scorers, texts, batch, args.seconds).items():
                results.append({"arch": arch, "variant": variant, "precision": precision,
                                "batch": batch, "mode": mode, **figures})
                print(f"    {mode}: {figures['texts_per_s']} texts/s, "
                      f"peak {figures['peak_rss_mb']} MB", file=sys.stderr)
    return results, info


def table(results: list[dict[str, Any]]) -> str:
    bare = {(r["arch"], r["precision"], r["batch"]): r["texts_per_s"]
            for r in results if r["mode"] == "bare"}
    lines = [f"{'model':<6} {'prec':<5} {'batch':>5} {'mode':<15} {'texts/s':>8} "
             f"{'vs bare':>7} {'ms/batch':>9} {'CPU ms/text':>11} {'peak RSS MB':>11} "
             f"{'+over start':>11} {'load':>5}"]
    for r in results:
        base = bare.get((r["arch"], r["precision"], r["batch"]))
        share = f"{r['texts_per_s'] / base:.0%}" if base else "-"
        lines.append(f"{r['arch']:<6} {r['precision']:<5} {r['batch']:>5} {r['mode']:<15} "
                     f"{r['texts_per_s']:>8.2f} {share:>7} {r['ms_per_batch']:>9.1f} "
                     f"{r['cpu_ms_per_text']:>11.1f} {r['peak_rss_mb']:>11} "
                     f"{r['peak_over_start_mb']:>11} {r['load_average']:>5}")
    return "\n".join(lines)


def verdicts(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    bare = {(r["arch"], r["precision"], r["batch"]): r["texts_per_s"]
            for r in results if r["mode"] == "bare"}
    out = []
    for r in results:
        base = bare.get((r["arch"], r["precision"], r["batch"]))
        if r["mode"] != "bare" and base:
            share = r["texts_per_s"] / base
            out.append({"arch": r["arch"], "precision": r["precision"], "batch": r["batch"],
                        "mode": r["mode"], "share_of_bare": round(share, 3),
                        "meets_target": share >= TARGET_SHARE})
    return out


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--arch", type=lambda s: s.split(","), default=["bert", "xlmr"],
                        help="comma-separated: bert, xlmr")
    parser.add_argument("--batch", type=lambda s: [int(x) for x in s.split(",")],
                        default=[1, 32])
    parser.add_argument("--precision", type=lambda s: s.split(","), default=["fp32", "int8"],
                        help="comma-separated: fp32, int8 (int8 runs after fp32)")
    parser.add_argument("--seconds", type=float, default=20.0, help="per configuration")
    parser.add_argument("--max-texts", type=int, default=0,
                        help="use only the first N texts (0: all)")
    parser.add_argument("--via-checkpoint", action="store_true",
                        help="also save and load a Detoxify checkpoint (times the real load)")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch intra-op threads (0: torch's default, one per core)")
    parser.add_argument("--json", type=Path, help="also write the JSON report here")
    args = parser.parse_args(argv)
    for arch in args.arch:
        if arch not in ("bert", "xlmr"):
            parser.error(f"unknown arch {arch!r}")
    args.precision = sorted(set(args.precision), key=["fp32", "int8"].index)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    texts, corpus = load_texts()
    if args.max_texts:
        texts = texts[:args.max_texts]
    results: list[dict[str, Any]] = []
    builds: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="guardian-detox-bench-") as tmp:
        for arch in args.arch:
            arch_results, builds[arch] = run_arch(arch, texts, args, Path(tmp))
            results += arch_results
    report = {
        "command": " ".join([Path(sys.argv[0]).name, *(argv or sys.argv[1:])]),
        "machine": {"nproc": os.cpu_count(), "python": platform.python_version(),
                    "torch_threads": torch.get_num_threads(),
                    "packages": {p: metadata.version(p)
                                 for p in ("torch", "transformers", "detoxify", "tokenizers")}},
        "texts": corpus, "seconds_per_run": args.seconds, "builds": builds,
        "target": f"detoxify >= {TARGET_SHARE:.0%} of bare texts/s",
        "verdicts": verdicts(results), "results": results,
    }
    print(f"texts: {corpus}; {args.seconds:g} s per configuration; "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(table(results))
    print()
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
