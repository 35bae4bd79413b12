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

Runtimes (`--suite runtimes`): the scorer on torch and on ONNX Runtime, fp32 and int8
(`--runtimes torch-fp32,torch-int8,onnx-fp32,onnx-int8`), all `DetoxifyScorer.score`
around the same random weights, alternating call by call. The model is saved as a Detoxify
checkpoint and exported by `guardian.scoring.detox_onnx.export`, the production path (its
time and file sizes are reported); torch runs the model in memory, torch int8 a quantised
copy. Each mode's scores of the first `--diff-texts` texts are compared with torch fp32's:
the largest absolute difference on any label. Process memory: for each mode a fresh
process loads that scorer alone from the files, as the service does, and reports its RSS
after load and its peak over `--memory-batches` batches (`--no-memory` skips it). The
machine speed probe (benchmarks/machine_speed.py) is printed beside the figures.

    .venv/bin/python benchmarks/detoxify_models.py --suite runtimes --arch xlmr --batch 32
        [--runtimes ...] [--seconds 20] [--diff-texts 256] [--no-memory]

`--fill 0` scores as before issue 19 (passes of `--batch` windows whatever their lengths),
for comparison.

Texts are the `tweet` column of shared/data/davidson-2017/labeled_data.csv when it is
present (they are never printed), else generated ones. Targets: `detoxify` reaches at least
90% of `bare`'s texts/s; onnx-int8 scores XLM-R base at 150 texts/s or more at batch 32.
"""

from __future__ import annotations

import argparse
import collections
import copy
import csv
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import torch
import transformers
from tokenizers import normalizers, pre_tokenizers

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script: make `guardian` and `tests` importable

from benchmarks.machine_speed import probe  # noqa: E402
from guardian.scoring import detox, detox_onnx  # noqa: E402
from guardian.scoring.assessor import Assessor  # noqa: E402
from guardian.scoring.detox import DetoxifyModel, DetoxifyScorer  # noqa: E402
from guardian.scoring.lite import LiteModel  # noqa: E402
from guardian.types import LABELS  # noqa: E402
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
TARGET_ONNX_TEXTS_PER_S = 150.0  # XLM-R base, onnx-int8, batch 32
RUNTIMES = ("torch-fp32", "torch-int8", "onnx-fp32", "onnx-int8")
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


def save_checkpoint(loaded: Loaded, arch: str, workdir: Path) -> tuple[Path, Path]:
    """Save the model as a Detoxify-format checkpoint beside its config directory."""
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
    return checkpoint, config_dir


def via_checkpoint(loaded: Loaded, arch: str, variant: str, workdir: Path
                   ) -> tuple[DetoxifyModel, float]:
    """Save a Detoxify-format checkpoint + config dir, load it through DetoxifyModel."""
    checkpoint, config_dir = save_checkpoint(loaded, arch, workdir)
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


# --------------------------------------------------------------------------- runtimes

def load_scorer(mode: str, variant: str, checkpoint: Path, config_dir: Path, batch: int
                ) -> DetoxifyScorer:
    """`mode`'s scorer loaded from the files, as the service loads it."""
    runtime, precision = mode.split("-")
    if runtime == "onnx":
        return detox_onnx.OnnxDetoxifyModel(
            variant, checkpoint=checkpoint, config_dir=config_dir, quantize=precision == "int8",
            batch_size=batch, export_missing=False)
    return DetoxifyModel(variant, checkpoint=checkpoint, config_dir=config_dir,
                         quantize=precision == "int8", batch_size=batch)


# Run by `python -c` in a fresh process: only what the service imports to score (the ONNX
# runtime never imports torch), so its RSS is the service's, not this benchmark's.
PROBE = """
import json, sys, time
from pathlib import Path
sys.path.insert(0, {repo!r})
mode, variant, checkpoint, config_dir, batch, batches, texts_file = sys.argv[1:]
batch, batches = int(batch), int(batches)

def status_mb(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return round(int(line.split()[1]) / 1024)

texts = json.loads(Path(texts_file).read_text())
started = time.perf_counter()
runtime, precision = mode.split("-")
options = dict(checkpoint=Path(checkpoint), config_dir=Path(config_dir),
               quantize=precision == "int8", batch_size=batch)
if runtime == "onnx":
    from guardian.scoring.detox_onnx import OnnxDetoxifyModel
    scorer = OnnxDetoxifyModel(variant, export_missing=False, **options)
else:
    from guardian.scoring.detox import DetoxifyModel
    scorer = DetoxifyModel(variant, **options)
load_seconds = time.perf_counter() - started
after_load, load_peak = status_mb("VmRSS"), status_mb("VmHWM")
for i in range(batches):
    scorer.score(texts[i * batch:(i + 1) * batch])
print(json.dumps({{"rss_after_load_mb": after_load, "peak_during_load_mb": load_peak,
                  "peak_mb": status_mb("VmHWM"), "rss_after_scoring_mb": status_mb("VmRSS"),
                  "load_seconds": round(load_seconds, 1),
                  "torch_imported": "torch" in sys.modules}}))
"""


def process_memory(mode: str, variant: str, checkpoint: Path, config_dir: Path,
                   texts: list[str], args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Load `mode`'s scorer alone in a fresh process, as the service does, and score
    `--memory-batches` batches: its RSS after load and its peak (VmHWM)."""
    batch = max(args.batch)
    texts_file = workdir / "probe-texts.json"
    texts_file.write_text(json.dumps(texts[:batch * args.memory_batches]))
    command = [sys.executable, "-c", PROBE.format(repo=str(REPO)), mode, variant,
               str(checkpoint), str(config_dir), str(batch), str(args.memory_batches),
               str(texts_file)]
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"memory probe of {mode} failed: {done.stderr[-2000:]}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def max_difference(scores: Sequence[dict[str, float]], reference: Sequence[dict[str, float]]
                   ) -> float:
    return max(abs(a[label] - b[label])
               for a, b in zip(scores, reference, strict=True) for label in LABELS)


def run_runtimes(arch: str, texts: list[str], args: argparse.Namespace, workdir: Path
                 ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    print(f"[{arch}] building tokenizer and model ...", file=sys.stderr)
    loaded, variant, info = build(arch, texts, workdir)
    info["rss_after_build_mb"] = round(rss_mb())
    checkpoint, config_dir = save_checkpoint(loaded, arch, workdir)
    print(f"[{arch}] exporting to ONNX (guardian.scoring.detox_onnx.export) ...",
          file=sys.stderr)
    started = time.perf_counter()
    export = detox_onnx.export(variant, checkpoint, config_dir)
    info["export_seconds"] = round(time.perf_counter() - started, 1)
    manifest = detox_onnx.read_manifest(export.directory)
    info["files_mb"] = {"checkpoint": round(checkpoint.stat().st_size / 1e6),
                        **{name: round(size / 1e6) for name, size in manifest["files"].items()}}
    info["export_check_max_difference"] = manifest["max_difference_from_torch"]
    info["rss_after_export_mb"] = round(rss_mb())
    scorers: dict[str, DetoxifyScorer] = {}
    for mode in args.runtimes:
        if mode == "torch-fp32":
            scorers[mode] = DetoxifyModel.from_loaded(loaded, variant, version="bench")
        elif mode == "torch-int8":
            # A copy: quantisation works in place, and torch-fp32 keeps the original.
            copied = Loaded(copy.deepcopy(loaded.model), loaded.tokenizer, loaded.class_names)
            scorers[mode] = DetoxifyModel.from_loaded(copied, variant, version="bench",
                                                      quantize=True)
        else:
            scorers[mode] = load_scorer(mode, variant, checkpoint, config_dir, 32)
    info["rss_with_every_mode_mb"] = round(rss_mb())
    sample = texts[:args.diff_texts]
    reference = (scorers["torch-fp32"] if "torch-fp32" in scorers
                 else DetoxifyModel.from_loaded(loaded, variant, version="bench")).score(sample)
    differences = {mode: max_difference(scorer.score(sample), reference)
                   for mode, scorer in scorers.items()}
    memory: dict[str, dict[str, Any]] = {}
    if args.memory:
        for mode in args.runtimes:
            print(f"[{arch}] process memory of {mode} alone ...", file=sys.stderr)
            memory[mode] = process_memory(mode, variant, checkpoint, config_dir, texts, args,
                                          workdir)
    results: list[dict[str, Any]] = []
    for batch in args.batch:
        for scorer in scorers.values():
            scorer.batch_size = batch
        print(f"[{arch}] batch {batch}: {', '.join(scorers)} ...", file=sys.stderr)
        calls: dict[str, Callable[[list[str]], object]] = {
            mode: scorer.score for mode, scorer in scorers.items()}
        for mode, figures in compare(calls, texts, batch, args.seconds).items():
            results.append({"arch": arch, "variant": variant, "batch": batch, "mode": mode,
                            **figures, "max_difference_from_torch_fp32": differences[mode],
                            "process": memory.get(mode)})
            print(f"    {mode}: {figures['texts_per_s']} texts/s", file=sys.stderr)
    return results, info


def runtime_ratios(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rate = {(r["arch"], r["batch"], r["mode"]): r["texts_per_s"] for r in results}
    out = []
    for arch, batch in sorted({(r["arch"], r["batch"]) for r in results}):
        for numerator, denominator in (("onnx-int8", "torch-int8"), ("onnx-fp32", "torch-fp32"),
                                       ("onnx-int8", "torch-fp32"), ("torch-int8", "torch-fp32")):
            top, bottom = rate.get((arch, batch, numerator)), rate.get((arch, batch, denominator))
            if top and bottom:
                out.append({"arch": arch, "batch": batch, "ratio": f"{numerator} / {denominator}",
                            "value": round(top / bottom, 2)})
    return out


def runtime_table(results: list[dict[str, Any]]) -> str:
    lines = [f"{'model':<6} {'batch':>5} {'mode':<11} {'texts/s':>8} {'ms/batch':>9} "
             f"{'CPU ms/text':>11} {'peak RSS MB':>11} {'max diff':>9} {'own RSS MB':>10} "
             f"{'own peak MB':>11} {'load':>5}"]
    for r in results:
        own = r["process"] or {}
        lines.append(f"{r['arch']:<6} {r['batch']:>5} {r['mode']:<11} {r['texts_per_s']:>8.2f} "
                     f"{r['ms_per_batch']:>9.1f} {r['cpu_ms_per_text']:>11.1f} "
                     f"{r['peak_rss_mb']:>11} {r['max_difference_from_torch_fp32']:>9.1e} "
                     f"{own.get('rss_after_load_mb', '-'):>10} {own.get('peak_mb', '-'):>11} "
                     f"{r['load_average']:>5}")
    return "\n".join(lines)


def main_runtimes(args: argparse.Namespace, texts: list[str], corpus: str,
                  argv: list[str] | None) -> int:
    speed_before = probe()
    results: list[dict[str, Any]] = []
    builds: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="guardian-detox-bench-") as tmp:
        for arch in args.arch:
            arch_results, builds[arch] = run_runtimes(arch, texts, args, Path(tmp))
            results += arch_results
    speed_after = probe()
    ratios = runtime_ratios(results)
    onnx_int8 = [r for r in results if r["mode"] == "onnx-int8" and r["arch"] == "xlmr"
                 and r["batch"] == 32]
    report = {
        "command": " ".join([Path(sys.argv[0]).name, *(argv or sys.argv[1:])]),
        "machine": machine(),
        "machine_speed": {"before": speed_before.to_json(), "after": speed_after.to_json()},
        "texts": corpus, "seconds_per_run": args.seconds, "builds": builds,
        "fill": DetoxifyScorer.fill,
        "target": f"onnx-int8 >= {TARGET_ONNX_TEXTS_PER_S:g} texts/s (XLM-R base, batch 32)",
        "target_met": (onnx_int8[0]["texts_per_s"] >= TARGET_ONNX_TEXTS_PER_S
                       if onnx_int8 else None),
        "ratios": ratios, "results": results,
    }
    print(f"texts: {corpus}; {args.seconds:g} s per mode, alternating; passes of windows at "
          f"least {DetoxifyScorer.fill:g} as long as their longest; torch {torch.__version__} "
          f"({torch.get_num_threads()} threads), onnxruntime {metadata.version('onnxruntime')} "
          f"({detox_onnx.cpu_threads()} passes side by side)")
    print(f"before: {speed_before.describe()}")
    print(f"after:  {speed_after.describe()}")
    print(runtime_table(results))
    for ratio in ratios:
        print(f"{ratio['arch']} batch {ratio['batch']}: {ratio['ratio']} = {ratio['value']}")
    print()
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


def machine() -> dict[str, Any]:
    return {"nproc": os.cpu_count(), "cores_usable": detox_onnx.cpu_threads(),
            "python": platform.python_version(), "torch_threads": torch.get_num_threads(),
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "packages": {p: metadata.version(p)
                         for p in ("torch", "transformers", "detoxify", "tokenizers",
                                   "onnxruntime", "onnx")}}


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
    parser.add_argument("--suite", choices=["stage", "runtimes"], default="stage",
                        help="stage: bare, detoxify and stage on torch; runtimes: torch and "
                             "ONNX Runtime, fp32 and int8")
    parser.add_argument("--runtimes", type=lambda s: s.split(","), default=list(RUNTIMES),
                        help=f"comma-separated, with --suite runtimes: {', '.join(RUNTIMES)}")
    parser.add_argument("--diff-texts", type=int, default=256,
                        help="texts whose scores are compared with torch fp32's")
    parser.add_argument("--memory", action=argparse.BooleanOptionalAction, default=True,
                        help="measure each runtime's process memory in a process of its own")
    parser.add_argument("--memory-batches", type=int, default=10)
    parser.add_argument("--fill", type=float, default=None,
                        help="DetoxifyScorer.fill for this run (0: passes of --batch windows "
                             "whatever their lengths, as before issue 19)")
    args = parser.parse_args(argv)
    for mode in args.runtimes:
        if mode not in RUNTIMES:
            parser.error(f"unknown runtime {mode!r}")
    for arch in args.arch:
        if arch not in ("bert", "xlmr"):
            parser.error(f"unknown arch {arch!r}")
    args.precision = sorted(set(args.precision), key=["fp32", "int8"].index)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.fill is not None:
        DetoxifyScorer.fill = args.fill
    texts, corpus = load_texts()
    if args.max_texts:
        texts = texts[:args.max_texts]
    if args.suite == "runtimes":
        return main_runtimes(args, texts, corpus, argv)
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
