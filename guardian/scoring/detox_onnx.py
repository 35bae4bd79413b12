"""Detoxify on ONNX Runtime: the checkpoint's transformer exported once, scored without torch.

Files. Beside a checkpoint (`<cache>/<variant>/checkpoint.ckpt`, or the file that
GUARDIAN_DETOXIFY_CHECKPOINT names), `onnx/` holds::

    onnx/model.onnx        the transformer: input_ids, attention_mask (batch x tokens, int64)
                           -> logits (batch x outputs), every output of the checkpoint, fp32
    onnx/model.int8.onnx   the same with int8 weights (ONNX Runtime's dynamic quantisation)
    onnx/manifest.json     what they were made from: the checkpoint's sha256 (and size and
                           mtime, to notice a change without reading 1 GB), config.json's
                           sha256; the class names, tokenizer class and position limit the
                           scorer needs without loading the checkpoint; the versions that
                           made them; the differences from torch measured at export

`export` writes them through a temporary directory under a lock (two processes starting at
once export once). `guardian models pull` calls it after pulling or adopting a copy made by
hand; `guardian models export` for an offline checkpoint (or again, with --force). When the
files are missing or stale (another checkpoint, another config.json, an older export
format), `OnnxDetoxifyModel` exports at load and logs a warning first: a base model takes
about a minute and the memory of the torch model.

Scoring is `DetoxifyScorer`'s (windows, batches, labels, the same as torch): only the forward
passes are ONNX Runtime's, every graph optimisation on, a call's passes side by side, one
per core this process may use (`os.sched_getaffinity`). Versions end in `+onnx` or
`+onnx-int8`, so every stored score says which runtime made it.

The export self-checks against torch on a few texts: fp32 must agree within
`FP32_TOLERANCE`, int8 within `INT8_TOLERANCE` (see docs/scoring.md for what was measured).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from guardian.scoring.detox import (
    VARIANTS,
    DetoxifyScorer,
    LoadedDetoxify,
    ModelUnavailable,
    checkpoint_version,
    load_detoxify,
    position_limit,
    resolve_files,
    sigmoid,
)

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedTokenizerBase

log = logging.getLogger(__name__)

ONNX_DIR = "onnx"
FP32_FILE = "model.onnx"
INT8_FILE = "model.int8.onnx"
MANIFEST_FILE = "manifest.json"
# Bumped when the export changes (graph, quantisation, manifest): older exports are redone.
EXPORT_FORMAT = 1
OPSET = 17
FP32_TOLERANCE = 1e-3
# int8 against torch fp32, on probabilities: a sanity bound that catches a broken
# quantisation, not the expected error. Measured: 0.013 (BERT) and 0.018 (XLM-R) at most on
# the tests' tiny models over 400 texts, under 0.01 on the full-size random ones
# (docs/scoring.md); torch's own int8 is further off on both.
INT8_TOLERANCE = 0.05
# What ONNX Runtime's dynamic quantisation is asked for. Per-channel scales keep accuracy
# (one scale per output column, not per matrix); no reduced range: that works around
# saturation of the u8 x s8 instructions of CPUs without VNNI, and costs accuracy on ours.
# Every MatMul and Gather with constant weights is quantised: the word embeddings too,
# which makes the file a quarter of fp32's (XLM-R: 279 MB instead of 1.1 GB) at no cost
# in speed or accuracy measured. Not used, because measured no faster on XLM-R base int8:
# ORT's transformer optimiser (onnxruntime.transformers.optimizer, model_type "bert", which
# fuses attention; the session's ORT_ENABLE_ALL already fuses layer norms and GELU) and
# quantisation pre-processing (quant_pre_process).
QUANTIZATION: dict[str, Any] = {"weight_type": "QInt8", "per_channel": True,
                                "reduce_range": False}
# Texts the export is traced with and checked on: different lengths, so padding is in play.
CHECK_TEXTS = ("Guardian checks its export.",
               "La farola de la calle Mayor sigue sin luz desde el martes por la noche, "
               "y nadie del ayuntamiento ha contestado todavía.",
               "ok", "You are all useless, every single one of you at the town hall!!")


@dataclass(frozen=True)
class ExportResult:
    directory: Path
    exported: bool  # False: the files there were already this checkpoint's
    reason: str | None  # why they were (re)made; None when not exported


def onnx_dir(checkpoint: Path) -> Path:
    """Where `checkpoint`'s ONNX files live: `onnx/` beside it."""
    return Path(checkpoint).parent / ONNX_DIR


def cpu_threads() -> int:
    """The cores this process may run on (its affinity mask, which containers narrow)."""
    return len(os.sched_getaffinity(0))


def session(path: Path) -> Any:
    """An ONNX Runtime CPU session for `path`, every graph optimisation on, one thread:
    `OnnxDetoxifyModel` runs a call's passes side by side instead, one per core, which was
    faster than each pass on every core (docs/performance.md)."""
    import onnxruntime as ort  # type: ignore[import-untyped]

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class OnnxDetoxifyModel(DetoxifyScorer):
    """A Detoxify model on ONNX Runtime (`guardian.scoring.types.Model`).

    `OnnxDetoxifyModel(variant, checkpoint=..., config_dir=...)` or `(variant,
    cache_dir=...)` loads the export beside the checkpoint, making it first when it is
    missing or stale (`export_missing=False` raises `ModelUnavailable` instead, naming the
    command that makes it). `quantize` picks model.int8.onnx. `threads`: how many passes run
    side by side (default: the cores this process may use). `from_export` loads an export
    directory with a tokenizer already in memory.
    """

    def __init__(self, variant: str, *, checkpoint: Path | None = None,
                 config_dir: Path | None = None, cache_dir: Path | None = None,
                 quantize: bool = False, batch_size: int = 32, window: int | None = None,
                 overlap: int | None = None, export_missing: bool = True,
                 threads: int | None = None) -> None:
        checkpoint, config_dir, from_cache = resolve_files(variant, checkpoint, config_dir,
                                                           cache_dir)
        if not checkpoint.is_file():
            raise ModelUnavailable(f"no Detoxify checkpoint at {checkpoint}")
        directory = onnx_dir(checkpoint)
        manifest = read_manifest(directory)
        reason = stale_reason(checkpoint, config_dir, manifest)
        if reason is not None:
            if not export_missing:
                raise ModelUnavailable(
                    f"The ONNX export of the Detoxify {variant} model in {directory} is not "
                    f"usable ({reason}): run `{export_command(variant)}`, or set "
                    "GUARDIAN_DETOXIFY_RUNTIME=torch.")
            log.warning("Detoxify %s: the ONNX export in %s is not usable (%s); exporting it "
                        "now (about a minute for a base model; `%s` does it ahead of time).",
                        variant, directory, reason, export_command(variant))
            export(variant, checkpoint, config_dir, cache_dir=from_cache)
            manifest = read_manifest(directory)
        tokenizer = _load_tokenizer(manifest, config_dir, directory)
        self._load(directory, manifest, tokenizer, variant, checkpoint_version(checkpoint),
                   quantize=quantize, batch_size=batch_size, window=window, overlap=overlap,
                   threads=threads)

    @classmethod
    def from_export(cls, directory: Path, tokenizer: PreTrainedTokenizerBase, variant: str,
                    *, version: str, quantize: bool = False, batch_size: int = 32,
                    window: int | None = None, overlap: int | None = None,
                    threads: int | None = None) -> OnnxDetoxifyModel:
        """Load the export in `directory` (written by `export_loaded`) with `tokenizer`;
        `threads`: the passes run side by side (default: the cores this process may use)."""
        self = cls.__new__(cls)
        self._load(directory, read_manifest(directory), tokenizer, variant, version,
                   quantize=quantize, batch_size=batch_size, window=window, overlap=overlap,
                   threads=threads)
        return self

    def _load(self, directory: Path, manifest: Mapping[str, Any],
              tokenizer: PreTrainedTokenizerBase, variant: str, version: str, *,
              quantize: bool, batch_size: int, window: int | None, overlap: int | None,
              threads: int | None = None) -> None:
        path = directory / (INT8_FILE if quantize else FP32_FILE)
        if not path.is_file() or not isinstance(manifest.get("class_names"), list):
            raise ModelUnavailable(f"{path} or its manifest is missing: export it again")
        self.path = path
        self._session = session(path)
        # A call's passes run side by side, one per core this process may use, each on one
        # thread (ONNX Runtime's run is thread-safe and releases the GIL): measured 24-28%
        # more texts/s than each pass on every core, for 4 ms more on a single tweet.
        self.workers = threads or cpu_threads()
        self._pool = (ThreadPoolExecutor(self.workers, thread_name_prefix="guardian-onnx")
                      if self.workers > 1 else None)
        positions = manifest.get("positions")
        self._setup_scoring(tokenizer, manifest["class_names"], variant,
                            f"{version}+{'onnx-int8' if quantize else 'onnx'}",
                            positions=positions if isinstance(positions, int) else None,
                            quantized=quantize, batch_size=batch_size, window=window,
                            overlap=overlap)

    def _forward(self, passes: Sequence[tuple[NDArray[np.int64], NDArray[np.int64]]]
                 ) -> Iterable[NDArray[np.float32]]:
        if self._pool is None:
            return super()._forward(passes)
        # Fewer passes than cores (windows of one length, or a single text): each is cut
        # into as many parts as there are cores, so that every core works.
        parts = [1 if len(passes) >= self.workers else min(self.workers, len(ids))
                 for ids, _ in passes]
        pieces = [piece for (ids, mask), count in zip(passes, parts, strict=True)
                  for piece in zip(np.array_split(ids, count), np.array_split(mask, count),
                                   strict=True)]
        # Longest passes first (`_batches`), so the cores finish close together.
        done = iter(self._pool.map(lambda inputs: self._logits(*inputs), pieces))
        return [np.concatenate([next(done) for _ in range(count)]) for count in parts]

    def _logits(self, input_ids: NDArray[np.int64], attention_mask: NDArray[np.int64]
                ) -> NDArray[np.float32]:
        logits: NDArray[np.float32] = self._session.run(
            ["logits"], {"input_ids": input_ids, "attention_mask": attention_mask})[0]
        return logits


def export_command(variant: str) -> str:
    """The command that makes the export of the configured model (the pulled one, or
    GUARDIAN_DETOXIFY_CHECKPOINT's)."""
    return f"guardian models export {variant}"


# --- freshness ------------------------------------------------------------------------------


def read_manifest(directory: Path) -> dict[str, Any]:
    """The manifest of the export in `directory`, or {} when there is none (or unreadable)."""
    try:
        data = json.loads((directory / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _source(checkpoint: Path, config_dir: Path) -> dict[str, Any]:
    """What the export is made from, as the manifest records it."""
    stat = checkpoint.stat()
    return {"checkpoint": str(checkpoint.resolve()), "checkpoint_sha256": _sha256(checkpoint),
            "checkpoint_size": stat.st_size, "checkpoint_mtime_ns": stat.st_mtime_ns,
            "config_sha256": _sha256(config_dir / "config.json")}


def stale_reason(checkpoint: Path, config_dir: Path, manifest: Mapping[str, Any]
                 ) -> str | None:
    """Why the export described by `manifest` cannot serve `checkpoint`; None when it can.

    The checkpoint is hashed only when its size or modification time differ from the
    recorded ones (a copy of the same file is still recognised by its sha256).
    """
    if not manifest:
        return "there is none"
    if manifest.get("format") != EXPORT_FORMAT:
        return f"made by an older Guardian (format {manifest.get('format')})"
    directory = onnx_dir(checkpoint)
    for name in (FP32_FILE, INT8_FILE):
        size = manifest.get("files", {}).get(name)
        path = directory / name
        if not path.is_file() or path.stat().st_size != size:
            return f"{name} is missing or incomplete"
    source = manifest.get("source", {})
    stat = checkpoint.stat()
    if ((stat.st_size, stat.st_mtime_ns)
            != (source.get("checkpoint_size"), source.get("checkpoint_mtime_ns"))
            and (stat.st_size != source.get("checkpoint_size")
                 or _sha256(checkpoint) != source.get("checkpoint_sha256"))):
        return f"made from another checkpoint than {checkpoint}"
    config = config_dir / "config.json"
    if not config.is_file() or _sha256(config) != source.get("config_sha256"):
        return f"made with another {config}"
    return None


def _load_tokenizer(manifest: Mapping[str, Any], config_dir: Path, directory: Path
                    ) -> PreTrainedTokenizerBase:
    """The checkpoint's tokenizer class (recorded at export) loaded from `config_dir`, as
    Detoxify loads it."""
    import transformers

    tokenizer_class = getattr(transformers, str(manifest.get("tokenizer")), None)
    if not (isinstance(tokenizer_class, type)
            and issubclass(tokenizer_class, transformers.PreTrainedTokenizerBase)):
        raise ModelUnavailable(f"{directory / MANIFEST_FILE} names no tokenizer class: "
                               "export again")
    try:
        tokenizer: PreTrainedTokenizerBase = tokenizer_class.from_pretrained(
            str(config_dir), local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(f"the tokenizer files in {config_dir} cannot be loaded "
                               f"({exc}): copy them again") from exc
    return tokenizer


# --- export ---------------------------------------------------------------------------------


def export(variant: str, checkpoint: Path, config_dir: Path, *, cache_dir: Path | None = None,
           force: bool = False, on_start: Callable[[str], None] | None = None
           ) -> ExportResult:
    """Make `checkpoint`'s ONNX files (`onnx/` beside it) unless they are already its own.

    Loads the checkpoint as `DetoxifyModel` does (so it is checked the same way), exports,
    quantises, checks both graphs against torch, and swaps the new directory into place.
    `on_start` is told why, when an export begins. Raises `ModelUnavailable` when the
    checkpoint cannot be used or the directory cannot be written.
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown Detoxify variant {variant!r}; one of {VARIANTS}")
    checkpoint, config_dir = Path(checkpoint), Path(config_dir)
    if not checkpoint.is_file():
        raise ModelUnavailable(f"no Detoxify checkpoint at {checkpoint}")
    directory = onnx_dir(checkpoint)
    with _export_lock(directory):
        # Checked again under the lock: another process may just have made it.
        reason = ("asked to (--force)" if force
                  else stale_reason(checkpoint, config_dir, read_manifest(directory)))
        if reason is None:
            return ExportResult(directory, False, None)
        if on_start is not None:
            on_start(reason)
        try:
            staging = Path(tempfile.mkdtemp(prefix=f".{ONNX_DIR}-", dir=directory.parent))
        except OSError as exc:  # read-only, or not ours
            raise ModelUnavailable(
                f"Cannot write the ONNX export of {checkpoint} to {directory} "
                f"({exc.strerror}): run `{export_command(variant)}` as a user who may write "
                "there, or set GUARDIAN_DETOXIFY_RUNTIME=torch.") from exc
        try:
            loaded = load_detoxify(variant, checkpoint, config_dir, cache_dir=cache_dir)
            manifest = export_loaded(loaded, staging)
            del loaded
            manifest["variant"] = variant
            manifest["source"] = _source(checkpoint, config_dir)
            (staging / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n",
                                                 encoding="utf-8")
            _swap_into_place(staging, directory)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return ExportResult(directory, True, reason)


@contextlib.contextmanager
def _export_lock(directory: Path) -> Iterator[None]:
    # A lock on the directory the export goes into (flock works on a directory's descriptor
    # on Linux): nothing is left behind, and a read-only directory can still be locked, so
    # that it fails below, where the export is written, with the sentence that says so.
    fd = os.open(directory.parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _swap_into_place(staging: Path, directory: Path) -> None:
    # Swap directories: a reader sees the old complete one or the new complete one.
    old = directory.with_name(f".{ONNX_DIR}-old-{os.getpid()}")
    if directory.exists():
        directory.rename(old)
    staging.rename(directory)
    shutil.rmtree(old, ignore_errors=True)


def export_loaded(loaded: LoadedDetoxify, directory: Path) -> dict[str, Any]:
    """Write model.onnx and model.int8.onnx of a loaded Detoxify (or any object with
    `model`, `tokenizer` and `class_names`) into `directory`; return the manifest (no
    source), with a manifest.json written there.

    Both graphs are checked against the torch model on `CHECK_TEXTS`; a difference beyond
    `FP32_TOLERANCE` (fp32) or `INT8_TOLERANCE` (int8) raises `ModelUnavailable`.
    """
    import torch

    started = time.monotonic()
    model = loaded.model
    model.eval()
    limit = position_limit(getattr(model, "config", None))
    inputs = loaded.tokenizer(list(CHECK_TEXTS), padding=True, truncation=True,
                              max_length=min(limit or 512, 512), return_tensors="pt",
                              return_token_type_ids=False)
    input_ids, mask = inputs["input_ids"], inputs["attention_mask"]
    with torch.inference_mode():
        reference = torch.sigmoid(model(input_ids=input_ids, attention_mask=mask).logits)
    fp32, int8 = directory / FP32_FILE, directory / INT8_FILE
    _export_graph(model, (input_ids, mask), fp32)
    _quantize(fp32, int8)
    differences = {}
    for path in (fp32, int8):
        logits = session(path).run(["logits"], {"input_ids": input_ids.numpy(),
                                                "attention_mask": mask.numpy()})[0]
        differences[path.name] = float(
            np.abs(sigmoid(logits) - reference.double().numpy()).max())
    for name, tolerance in ((FP32_FILE, FP32_TOLERANCE), (INT8_FILE, INT8_TOLERANCE)):
        if differences[name] > tolerance:
            raise ModelUnavailable(
                f"the ONNX export {name} scores up to {differences[name]:.4f} away from torch "
                f"(tolerance {tolerance}): use GUARDIAN_DETOXIFY_RUNTIME=torch and report it")
    manifest: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "class_names": list(loaded.class_names),
        "tokenizer": type(loaded.tokenizer).__name__,
        "positions": limit,
        "outputs": int(reference.shape[1]),
        "opset": OPSET,
        "quantization": QUANTIZATION,
        "files": {p.name: p.stat().st_size for p in (fp32, int8)},
        "max_difference_from_torch": differences,
        "versions": {p: _version(p) for p in ("torch", "transformers", "onnx", "onnxruntime",
                                              "detoxify")},
        "seconds": round(time.monotonic() - started, 1),
    }
    (directory / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n",
                                           encoding="utf-8")
    return manifest


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"


def _export_graph(model: torch.nn.Module, inputs: tuple[torch.Tensor, torch.Tensor],
                  path: Path) -> None:
    """torch's TorchScript exporter (`dynamo=False`): the dynamo one needs onnxscript and
    gives the same graph here, slower."""
    import torch
    from torch.jit._trace import TracerWarning

    with warnings.catch_warnings():
        # The TorchScript exporter is deprecated (still supported in torch 2.13) and says so
        # twice; tracing warns where transformers turns shapes into Python booleans (padding
        # length, is_causal), which are the same for every input of an encoder; the advanced
        # index it warns about takes no negative indices here.
        warnings.filterwarnings("ignore", category=DeprecationWarning,
                                message=r"You are using the legacy TorchScript-based ONNX")
        warnings.filterwarnings("ignore", category=DeprecationWarning,
                                message=r"The feature will be removed")
        warnings.filterwarnings("ignore", category=TracerWarning,
                                message=r"Converting a tensor to a Python boolean")
        warnings.filterwarnings("ignore", category=UserWarning,
                                message=r"Exporting aten::index operator of advanced indexing")
        torch.onnx.export(
            model, inputs, str(path), input_names=["input_ids", "attention_mask"],
            output_names=["logits"], opset_version=OPSET, dynamo=False,
            dynamic_axes={"input_ids": {0: "batch", 1: "tokens"},
                          "attention_mask": {0: "batch", 1: "tokens"},
                          "logits": {0: "batch"}})


class _DropRecord(logging.Filter):
    def __init__(self, start: str) -> None:
        super().__init__()
        self.start = start

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(self.start)


def _quantize(source: Path, target: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic  # type: ignore[import-untyped]

    # quantize_dynamic advises pre-processing on the root logger; measured, it changes
    # neither speed nor accuracy here (see QUANTIZATION), so the advice is dropped.
    advice = _DropRecord("Please consider to run pre-processing before quantization")
    root = logging.getLogger()
    root.addFilter(advice)
    try:
        quantize_dynamic(source, target,
                         weight_type=getattr(QuantType, QUANTIZATION["weight_type"]),
                         per_channel=QUANTIZATION["per_channel"],
                         reduce_range=QUANTIZATION["reduce_range"])
    finally:
        root.removeFilter(advice)
