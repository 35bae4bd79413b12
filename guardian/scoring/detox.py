"""The Detoxify scorer: Detoxify's own loading code, batched and windowed scoring, `pull`.

`DetoxifyScorer` holds what every runtime shares (windows, batches, labels); `DetoxifyModel`
runs it on torch (the reference), `guardian.scoring.detox_onnx.OnnxDetoxifyModel` on ONNX
Runtime (the default, GUARDIAN_DETOXIFY_RUNTIME=onnx).

Files. `pull` (and `guardian models pull`) leaves, per variant::

    <cache>/<variant>/checkpoint.ckpt   the release checkpoint, byte for byte (hash-checked)
    <cache>/<variant>/hf/               config.json (num_labels = the checkpoint's outputs)
                                        and the base model's tokenizer files
    <cache>/<variant>/manifest.json     where the checkpoint came from: url, file, sha256
    <cache>/<variant>/onnx/             the ONNX Runtime export (model.onnx, model.int8.onnx,
                                        its manifest.json), which `guardian models pull` has
                                        `guardian.scoring.detox_onnx` make after `pull`

An offline install may instead name a checkpoint file and a config directory of that shape
(GUARDIAN_DETOXIFY_CHECKPOINT and GUARDIAN_DETOXIFY_CONFIG_DIR), or copy the two into
`<cache>/<variant>/` by hand: `pull` then checks them and writes the manifest (`adopt`).

Checks. Before loading, and when `pull` adopts a copy, `check_files` reads the checkpoint's
classifier head (its outputs) and model class and the config directory's config.json and
tokenizer file names, and refuses, in one sentence naming the file, a checkpoint that is not
the variant's (saying which variant it looks like), a config of another model or label
count, or missing tokenizer files. A config.json that states no label count (a base model's
config) is loaded with the head's.

Loading goes through `detoxify.Detoxify(variant, checkpoint=..., huggingface_config_path=...)`.
Detoxify also builds a config from the checkpoint's `model_type` (e.g. "bert-base-uncased")
before it uses the config directory; a hub name there would go to the network (here: half a
minute of retries, then failure). When `model_type` is not a local directory, the checkpoint
is handed to Detoxify in memory with `model_type` pointing at the config directory, at the
cost of one transient copy of the weights.

Labels. Each of `LABELS` the checkpoint names gets its sigmoid probability; the others are
0.0 (the `original` and `*-small` original models have no sexual_explicit). The unbiased and
multilingual checkpoints have 16 outputs but name 7 classes: the 9 identity outputs (male,
female, ..., a mention of the identity, not an attack on it) are dropped, as Detoxify drops
them; folding them into identity_attack would flag texts that merely mention a group.

Long texts are never truncated: a text longer than the window is cut into overlapping token
windows, each is scored, and each label keeps its maximum over the windows.
"""

from __future__ import annotations

import abc
import contextlib
import hashlib
import http.client
import io
import json
import os
import re
import shutil
import sys
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

import numpy as np
from numpy.typing import NDArray

from guardian.errors import ScorerUnavailable
from guardian.types import LABELS, LabelScores

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedTokenizerBase

VARIANTS: tuple[str, ...] = ("original", "unbiased", "multilingual", "original-small",
                             "unbiased-small")
MULTILINGUAL_LANGUAGES = frozenset({"en", "fr", "es", "it", "pt", "tr", "ru"})
CHECKPOINT_FILE = "checkpoint.ckpt"
CONFIG_DIR = "hf"
MANIFEST_FILE = "manifest.json"
# Any one of these beside config.json makes a config directory usable by a tokenizer class.
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "vocab.json", "sentencepiece.bpe.model",
                   "spiece.model")
# What each release checkpoint declares, for the offline instructions (before any download).
BASE_MODELS: dict[str, tuple[str, int]] = {
    "original": ("bert-base-uncased", 6),
    "unbiased": ("roberta-base", 16),
    "multilingual": ("xlm-roberta-base", 16),
    "original-small": ("albert-base-v2", 6),
    "unbiased-small": ("albert-base-v2", 16),
}
# Each release checkpoint's model class and the `model_type` its config.json must have.
ARCHITECTURES: dict[str, tuple[str, str]] = {
    "original": ("BertForSequenceClassification", "bert"),
    "unbiased": ("RobertaForSequenceClassification", "roberta"),
    "multilingual": ("XLMRobertaForSequenceClassification", "xlm-roberta"),
    "original-small": ("AlbertForSequenceClassification", "albert"),
    "unbiased-small": ("AlbertForSequenceClassification", "albert"),
}
# The tokenizer files each base model loads from: all the files of any one group.
TOKENIZER_GROUPS: dict[str, tuple[tuple[str, ...], ...]] = {
    "bert": (("tokenizer.json",), ("vocab.txt",)),
    "roberta": (("tokenizer.json",), ("vocab.json", "merges.txt")),
    "xlm-roberta": (("tokenizer.json",), ("sentencepiece.bpe.model",)),
    "albert": (("tokenizer.json",), ("spiece.model",)),
}
# The classifier's final layer: its weight has one row per output.
_HEAD_KEYS = ("classifier.out_proj.weight", "classifier.weight")  # RoBERTa family; BERT, ALBERT
MAX_WINDOW = 512  # every Detoxify base model was trained on at most 512 tokens
DEFAULT_OVERLAP = 64
# RoBERTa-family models number positions from padding_idx + 1, so fewer fit.
_OFFSET_POSITIONS = frozenset({"roberta", "xlm-roberta", "camembert"})
_HASH_IN_NAME = re.compile(r"-([0-9a-f]{8,})\.")  # torch.hub's convention: sha256 prefix


class ModelUnavailable(ScorerUnavailable):
    """Weights cannot be found, fetched or used; the message says what to do about it.

    A `ScorerUnavailable`: `load_model` falls back to lite (auto) or refuses (detoxify).
    """


class LoadedDetoxify(Protocol):
    """What `DetoxifyModel` needs from a `detoxify.Detoxify` (or a stand-in for one)."""

    # Read-only, so that an object holding e.g. a BertForSequenceClassification matches.
    @property
    def model(self) -> torch.nn.Module: ...
    @property
    def tokenizer(self) -> PreTrainedTokenizerBase: ...
    @property
    def class_names(self) -> Sequence[str]: ...


def cached_files(variant: str, cache_dir: Path) -> tuple[Path, Path]:
    """(checkpoint file, config directory) of `variant` in a `pull` cache."""
    return (Path(cache_dir) / variant / CHECKPOINT_FILE, Path(cache_dir) / variant / CONFIG_DIR)


def _config_dir_complete(config_dir: Path) -> bool:
    return (config_dir / "config.json").is_file() and any(
        (config_dir / name).is_file() for name in TOKENIZER_FILES)


def available(variant: str, cache_dir: Path) -> bool:
    """Whether `pull` has left `variant`'s weights in `cache_dir` (nothing is loaded)."""
    checkpoint, config_dir = cached_files(variant, cache_dir)
    return checkpoint.is_file() and _config_dir_complete(config_dir)


def languages_of(variant: str) -> frozenset[str]:
    return MULTILINGUAL_LANGUAGES if variant == "multilingual" else frozenset({"en"})


def position_limit(config: object) -> int | None:
    """The most tokens a model's position embeddings take (its config's
    max_position_embeddings, less the RoBERTa family's padding offset), or None."""
    positions = getattr(config, "max_position_embeddings", None)
    if not isinstance(positions, int):
        return None
    if getattr(config, "model_type", "") in _OFFSET_POSITIONS:
        positions -= int(getattr(config, "pad_token_id", 1) or 0) + 1
    return positions


def sigmoid(logits: NDArray[np.floating[Any]]) -> NDArray[np.float64]:
    # exp(-log(1 + e^-x)): no overflow (and so no RuntimeWarning) for logits far below 0.
    return np.exp(-np.logaddexp(0.0, -logits.astype(np.float64)))


class DetoxifyScorer(abc.ABC):
    """What every Detoxify runtime shares, implementing `guardian.scoring.types.Model`:
    labels, long-text windows, batching and padding. A runtime gives `_logits`, the model's
    forward pass over one padded batch (`DetoxifyModel`: torch; `OnnxDetoxifyModel` in
    `guardian.scoring.detox_onnx`: ONNX Runtime), and may run a call's passes side by side
    (`_forward`).

    `window` is the most tokens (special tokens included) one forward pass sees; longer texts
    are scored in windows sharing `overlap` tokens.
    """

    name = "detoxify"
    fill: float = 0.85  # of 0.6 to 0.95, the fastest measured (docs/performance.md)
    variant: str
    version: str
    languages: frozenset[str]
    batch_size: int
    quantized: bool
    window: int
    overlap: int

    def _setup_scoring(self, tokenizer: PreTrainedTokenizerBase, class_names: Sequence[str],
                       variant: str, version: str, *, positions: int | None, quantized: bool,
                       batch_size: int, window: int | None, overlap: int | None) -> None:
        if variant not in VARIANTS:
            raise ValueError(f"unknown Detoxify variant {variant!r}; one of {VARIANTS}")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.variant = variant
        self.version = version
        self.languages = languages_of(variant)
        self.batch_size = batch_size
        self.quantized = quantized
        self._tokenizer = tokenizer
        self._positions = positions
        self._pad_id = int(tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0)
        # Column of the model's output for each label in LABELS, or None (always 0.0).
        columns = {name: i for i, name in enumerate(class_names)}
        self._columns = [columns.get(label) for label in LABELS]
        self._used = sorted({c for c in self._columns if c is not None})
        self._used_index = np.array(self._used, dtype=np.intp)

        limit = self.max_window()
        self.window = limit if window is None else window
        if not 0 < self.window <= limit:
            raise ValueError(f"window must be in 1..{limit} tokens for this model")
        room = self.window - tokenizer.num_special_tokens_to_add(pair=False)
        if room < 2:
            raise ValueError("window too small for the special tokens plus 2")
        self.overlap = min(DEFAULT_OVERLAP, room // 4) if overlap is None else overlap
        if not 0 <= self.overlap < room:
            raise ValueError(f"overlap must be in 0..{room - 1} tokens for a {self.window} "
                             "token window")

    @abc.abstractmethod
    def _logits(self, input_ids: NDArray[np.int64], attention_mask: NDArray[np.int64]
                ) -> NDArray[np.float32]:
        """The model's outputs (batch x outputs) for int64 token ids padded with the pad id
        and their attention mask (1 for a token, 0 for padding)."""

    def max_window(self) -> int:
        """The most tokens one pass can take: 512, or less if the model or tokenizer says so."""
        limit = MAX_WINDOW if self._positions is None else min(MAX_WINDOW, self._positions)
        tokenizer_limit = getattr(self._tokenizer, "model_max_length", None)
        if isinstance(tokenizer_limit, int) and tokenizer_limit > 0:
            limit = min(limit, tokenizer_limit)
        return limit

    def warm_up(self) -> None:
        """Score one short text, so that the first real batch does not pay for allocation."""
        self.score(["Guardian warm-up."])

    def windows(self, texts: Sequence[str]) -> tuple[list[list[int]], list[int]]:
        """Token ids of every window (special tokens included) and the text each belongs to."""
        # The fast tokenizer cuts overflow into windows itself: `stride` is the overlap.
        encoded = self._tokenizer(
            list(texts), truncation=True, max_length=self.window, stride=self.overlap,
            return_overflowing_tokens=True, return_attention_mask=False,
            return_token_type_ids=False, verbose=False)
        ids: list[list[int]] = encoded["input_ids"]
        owners: list[int] = encoded["overflow_to_sample_mapping"]
        return ids, owners

    def _batches(self, ids: Sequence[Sequence[int]]) -> Iterator[list[int]]:
        """Indices of `ids` in forward passes: longest first, at most `batch_size` windows,
        and a new pass as soon as a window is shorter than `fill` of the pass's longest, so
        that padding stays a small share of the work (tweets vary from 5 to 60 tokens: one
        pass of 32 would be mostly padding)."""
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]), reverse=True)
        chunk: list[int] = []
        for i in order:
            if chunk and (len(chunk) == self.batch_size
                          or len(ids[i]) < self.fill * len(ids[chunk[0]])):
                yield chunk
                chunk = []
            chunk.append(i)
        if chunk:
            yield chunk

    def _padded(self, ids: Sequence[Sequence[int]], chunk: Sequence[int]
                ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """One pass's token ids, padded to its longest window, and its attention mask."""
        width = len(ids[chunk[0]])
        input_ids = np.full((len(chunk), width), self._pad_id, dtype=np.int64)
        mask = np.zeros((len(chunk), width), dtype=np.int64)
        for row, i in enumerate(chunk):
            input_ids[row, :len(ids[i])] = ids[i]
            mask[row, :len(ids[i])] = 1
        return input_ids, mask

    def _forward(self, passes: Sequence[tuple[NDArray[np.int64], NDArray[np.int64]]]
                 ) -> Iterable[NDArray[np.float32]]:
        """The logits of each pass, in order: one after the other here; a runtime may run
        them side by side."""
        return (self._logits(input_ids, mask) for input_ids, mask in passes)

    def score(self, texts: Sequence[str]) -> list[LabelScores]:
        if not texts:
            return []
        ids, owners = self.windows(texts)
        best = np.zeros((len(texts), len(self._used)))
        owner_of = np.asarray(owners, dtype=np.intp)
        chunks = list(self._batches(ids))
        passes = [self._padded(ids, chunk) for chunk in chunks]
        for chunk, logits in zip(chunks, self._forward(passes), strict=True):
            probs = sigmoid(logits[:, self._used_index])
            # Each label keeps its maximum over a text's windows.
            np.maximum.at(best, owner_of[chunk], probs)
        where = {c: j for j, c in enumerate(self._used)}
        return [{label: (0.0 if c is None else min(1.0, max(0.0, row[where[c]])))
                 for label, c in zip(LABELS, self._columns, strict=True)}
                for row in best.tolist()]


class DetoxifyModel(DetoxifyScorer):
    """A loaded Detoxify model on torch (the reference runtime).

    `DetoxifyModel(variant, checkpoint=..., config_dir=...)` loads explicit files;
    `DetoxifyModel(variant, cache_dir=...)` loads what `pull` left there;
    `DetoxifyModel.from_loaded(obj, variant)` wraps an already loaded Detoxify (or any object
    with `model`, `tokenizer` and `class_names`), e.g. a model built in memory.

    `quantize` applies dynamic int8 quantisation to the Linear layers (faster on CPU; scores
    move slightly). Windows and labels: `DetoxifyScorer`.
    """

    def __init__(self, variant: str, *, checkpoint: Path | None = None,
                 config_dir: Path | None = None, cache_dir: Path | None = None,
                 quantize: bool = False, batch_size: int = 32, window: int | None = None,
                 overlap: int | None = None) -> None:
        checkpoint, config_dir, from_cache = resolve_files(variant, checkpoint, config_dir,
                                                           cache_dir)
        loaded = load_detoxify(variant, checkpoint, config_dir, cache_dir=from_cache)
        self._setup(loaded, variant, checkpoint_version(checkpoint), quantize=quantize,
                    batch_size=batch_size, window=window, overlap=overlap)

    @classmethod
    def from_loaded(cls, loaded: LoadedDetoxify, variant: str, *, version: str | None = None,
                    quantize: bool = False, batch_size: int = 32, window: int | None = None,
                    overlap: int | None = None) -> DetoxifyModel:
        """Wrap a loaded model; it is now this object's (quantize changes it in place)."""
        if variant not in VARIANTS:
            raise ValueError(f"unknown Detoxify variant {variant!r}; one of {VARIANTS}")
        self = cls.__new__(cls)
        self._setup(loaded, variant, version or f"{_detoxify_version()}+in-memory",
                    quantize=quantize, batch_size=batch_size, window=window, overlap=overlap)
        return self

    def _setup(self, loaded: LoadedDetoxify, variant: str, version: str, *, quantize: bool,
               batch_size: int, window: int | None, overlap: int | None) -> None:
        model = loaded.model
        model.eval()  # Detoxify only switches to eval inside predict()
        if quantize:
            model = quantize_dynamic_int8(model)
            version += "+int8"  # int8 scores differ slightly: say so with every score
        self._model = model
        self._setup_scoring(loaded.tokenizer, loaded.class_names, variant, version,
                            positions=position_limit(getattr(model, "config", None)),
                            quantized=quantize, batch_size=batch_size, window=window,
                            overlap=overlap)

    def _logits(self, input_ids: NDArray[np.int64], attention_mask: NDArray[np.int64]
                ) -> NDArray[np.float32]:
        import torch

        with torch.inference_mode():
            logits = self._model(input_ids=torch.from_numpy(input_ids),
                                 attention_mask=torch.from_numpy(attention_mask)).logits
        result: NDArray[np.float32] = logits.float().numpy()
        return result


def resolve_files(variant: str, checkpoint: Path | None, config_dir: Path | None,
                  cache_dir: Path | None) -> tuple[Path, Path, Path | None]:
    """(checkpoint, config directory, the `pull` cache they are in or None) for a scorer
    given explicit files or a cache; raises `ModelUnavailable` when the cache lacks them."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown Detoxify variant {variant!r}; one of {VARIANTS}")
    if checkpoint is None:
        if cache_dir is None:
            raise ValueError("give checkpoint and config_dir, or cache_dir")
        if not available(variant, cache_dir):
            raise ModelUnavailable(
                f"Detoxify {variant} weights are not in {Path(cache_dir) / variant}: run "
                f"`guardian models pull {variant}`, or see its message for offline installs.")
        checkpoint, config_dir = cached_files(variant, cache_dir)
        return checkpoint, config_dir, Path(cache_dir)
    if config_dir is None:
        raise ValueError("an explicit checkpoint needs its config_dir (config.json and "
                         "tokenizer files)")
    return Path(checkpoint), Path(config_dir), None


def quantize_dynamic_int8(model: torch.nn.Module) -> torch.nn.Module:
    """Dynamic int8 quantisation of the Linear layers, in place.

    torch 2.13 has no non-deprecated built-in for this: torch.ao.quantization warns that it
    moves to torchao (not a dependency here, and its int8 path is slower on CPU without
    torch.compile), yet it still works and is what gives the speed-up. Its two warnings
    are silenced here only.
    """
    import torch

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning,
                                message=r"torch\.ao\.quantization is deprecated")
        warnings.filterwarnings("ignore", category=UserWarning,
                                message=r"torch\.quantize_per_tensor, torch\.quantize_per_channel")
        from torch.ao.quantization import quantize_dynamic

        quantized: torch.nn.Module = quantize_dynamic(  # type: ignore[no-untyped-call]
            model, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)
    return quantized


def _detoxify_version() -> str:
    try:
        return metadata.version("detoxify")
    except metadata.PackageNotFoundError:
        return "unknown"


def checkpoint_version(checkpoint: Path) -> str:
    """detoxify's version + the checkpoint's release name (which carries a hash prefix).

    From the cache's manifest; else the file name when it has a hash in it; else the name
    plus the first 8 hex digits of its sha256 (a one-off read of the file).
    """
    name: str | None = None
    manifest = checkpoint.parent / MANIFEST_FILE
    if manifest.is_file():
        with contextlib.suppress(OSError, ValueError):
            name = Path(str(json.loads(manifest.read_text(encoding="utf-8"))["file"])).stem
    if name is None:
        if _HASH_IN_NAME.search(checkpoint.name):
            name = checkpoint.stem
        else:
            name = f"{checkpoint.stem}-{_sha256(checkpoint)[:8]}"
    return f"{_detoxify_version()}+{name}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def read_checkpoint(path: Path) -> dict[str, Any]:
    """The checkpoint's contents, tensors memory-mapped where the format allows (cheap).

    Detoxify checkpoints are pickles (weights_only=False, as Detoxify loads them): load only
    files you trust.
    """
    import torch

    try:
        try:
            loaded = torch.load(path, map_location="cpu", weights_only=False, mmap=True)
        except RuntimeError:  # the pre-1.6 format cannot be memory-mapped
            with _legacy_load_warnings():
                loaded = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # a truncated or foreign file: pickle, zip and OS errors alike
        raise ModelUnavailable(
            f"{path} cannot be read as a Detoxify checkpoint ({type(exc).__name__}: {exc}): "
            "copy it again, or download it with `guardian models pull`") from exc
    if not isinstance(loaded, dict) or "config" not in loaded or "state_dict" not in loaded:
        raise ModelUnavailable(f"{path} is not a Detoxify checkpoint (no config/state_dict)")
    return loaded


@contextlib.contextmanager
def _legacy_load_warnings() -> Iterator[None]:
    # Old-format checkpoints go through torch's TypedStorage path, which warns on use.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning,
                                message=r"TypedStorage is deprecated")
        yield


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    # transformers draws a "Loading weights" bar on stderr; a service log is no place for it.
    from transformers.utils import logging as hf_logging

    enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    try:
        yield
    finally:
        if enabled:
            hf_logging.enable_progress_bar()  # type: ignore[no-untyped-call]


def _declared_labels(config: Mapping[str, Any]) -> int | None:
    if isinstance(config.get("id2label"), dict):
        return len(config["id2label"])
    num = config.get("num_labels")
    return num if isinstance(num, int) else None


def head_outputs(state_dict: Mapping[str, Any]) -> int | None:
    """The outputs of a checkpoint's classifier (rows of its final layer), or None."""
    for suffix in _HEAD_KEYS:
        for key, tensor in state_dict.items():
            shape: Sequence[int] = tuple(getattr(tensor, "shape", ()))
            if (key == suffix or key.endswith(f".{suffix}")) and len(shape) == 2:
                return int(shape[0])
    return None


def _looks_like(model_class: str, outputs: int) -> str | None:
    """The variant whose release checkpoint has this model class and number of outputs."""
    return next((v for v in VARIANTS
                 if (ARCHITECTURES[v][0], BASE_MODELS[v][1]) == (model_class, outputs)), None)


def _check(variant: str, checkpoint: Path, config_dir: Path, loaded: Mapping[str, Any],
           cache_dir: Path | None) -> tuple[int, int | None]:
    """(the checkpoint's outputs, the labels its config.json states or None); see check_files."""
    base, expected_outputs = BASE_MODELS[variant]
    expected_class, expected_type = ARCHITECTURES[variant]
    pull = f"`guardian models pull {variant}`"
    arch = loaded["config"].get("arch") if isinstance(loaded["config"], dict) else None
    args = arch.get("args") if isinstance(arch, dict) else None
    if not isinstance(args, dict) or not isinstance(args.get("model_name"), str):
        raise ModelUnavailable(f"{checkpoint} is not a Detoxify checkpoint (its config names no "
                               f"model class): use the {variant} release checkpoint ({pull}).")
    outputs = head_outputs(loaded["state_dict"])
    if outputs is None:
        raise ModelUnavailable(
            f"{checkpoint} has no classifier layer ({' or '.join(_HEAD_KEYS)}) whose outputs "
            f"can be counted, so it is no Detoxify checkpoint: use the {variant} release "
            f"checkpoint ({pull}).")
    if args.get("num_classes") != outputs:
        raise ModelUnavailable(
            f"{checkpoint} says num_classes={args.get('num_classes')} but its classifier has "
            f"{outputs} outputs, so it is damaged or was edited: use the {variant} release "
            f"checkpoint ({pull}).")
    model_class = args["model_name"]
    if (model_class, outputs) != (expected_class, expected_outputs):
        looks = _looks_like(model_class, outputs)
        shape = f"{model_class}, {outputs} outputs"
        wanted = f"{expected_class}, {expected_outputs} outputs"
        if looks is None:
            raise ModelUnavailable(
                f"{checkpoint} ({shape}) looks like no Detoxify release, not the {variant} "
                f"checkpoint ({wanted}): use the {variant} release checkpoint ({pull}).")
        if cache_dir is not None:
            fix = (f"move {checkpoint.parent} to {Path(cache_dir) / looks} and set "
                   f"GUARDIAN_DETOXIFY_VARIANT={looks} to use it, or put the {variant} "
                   "checkpoint in its place")
        else:
            fix = (f"set GUARDIAN_DETOXIFY_VARIANT={looks} to use it, or point "
                   f"GUARDIAN_DETOXIFY_CHECKPOINT at the {variant} checkpoint")
        raise ModelUnavailable(
            f"{checkpoint} looks like the Detoxify {looks} checkpoint ({shape}), not the "
            f"{variant} one ({wanted}): {fix}.")
    config_file = config_dir / "config.json"
    copy = f"copy the config.json and tokenizer files of {base} into {config_dir}"
    if not config_file.is_file():
        raise ModelUnavailable(f"{config_file} is missing: {copy}.")
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(f"{config_file} cannot be read as JSON ({exc}): {copy}.") from exc
    if not isinstance(config, dict):
        raise ModelUnavailable(f"{config_file} is not a model config (no JSON object): {copy}.")
    found_type = config.get("model_type")
    if found_type is not None and found_type != expected_type:
        raise ModelUnavailable(
            f"{config_file} is the config of a {found_type} model but the {variant} checkpoint "
            f"is {expected_class} ({expected_type}): {copy}.")
    groups = TOKENIZER_GROUPS[expected_type]
    if not any(all((config_dir / name).is_file() for name in group) for group in groups):
        names = ", or ".join(" and ".join(group) for group in groups)
        raise ModelUnavailable(
            f"{config_dir} has no tokenizer files for {base} ({names}): copy them there, "
            "beside config.json.")
    # With a config directory, Detoxify takes the model's shape from its config.json: a
    # config saved with the base model's default 2 labels would fail on the classifier.
    declared = _declared_labels(config)
    if declared is not None and declared != outputs:
        raise ModelUnavailable(
            f"{config_file} declares {declared} labels but the checkpoint has {outputs} "
            f"outputs: save the config with num_labels={outputs}, or remove its num_labels "
            "and id2label (`guardian models pull` writes it right).")
    return outputs, declared


def check_files(variant: str, checkpoint: Path, config_dir: Path, *,
                cache_dir: Path | None = None) -> int:
    """The checkpoint's outputs, once it and the config directory are found to be `variant`'s.

    Reads the checkpoint's memory map and config.json only (no model is built). Raises
    `ModelUnavailable` naming the file at fault and what to do; `cache_dir` (a `pull` cache)
    makes the advice about a checkpoint of another variant say where to move it.
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown Detoxify variant {variant!r}; one of {VARIANTS}")
    if not checkpoint.is_file():
        raise ModelUnavailable(f"no Detoxify checkpoint at {checkpoint}")
    return _check(variant, checkpoint, config_dir, read_checkpoint(checkpoint), cache_dir)[0]


@contextlib.contextmanager
def _config_with_labels(config_dir: Path, outputs: int) -> Iterator[Path]:
    """`config_dir` as a temporary directory whose config.json states `outputs` labels; the
    other files are linked (copied where links cannot be made)."""
    config = json.loads((config_dir / "config.json").read_text(encoding="utf-8"))
    config["num_labels"] = outputs
    with tempfile.TemporaryDirectory(prefix="guardian-detoxify-config-") as tmp:
        staged = Path(tmp)
        for entry in config_dir.iterdir():
            if entry.name == "config.json":
                continue
            try:
                (staged / entry.name).symlink_to(entry.resolve())
            except OSError:
                if entry.is_dir():
                    shutil.copytree(entry, staged / entry.name)
                else:
                    shutil.copy2(entry, staged / entry.name)
        (staged / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
        yield staged


def load_detoxify(variant: str, checkpoint: Path, config_dir: Path, *,
                  cache_dir: Path | None = None) -> Any:
    """A `detoxify.Detoxify` loaded offline from a checkpoint file and a config directory,
    once `check_files` has found them to be `variant`'s."""
    from detoxify import Detoxify

    if variant not in VARIANTS:
        raise ValueError(f"unknown Detoxify variant {variant!r}; one of {VARIANTS}")
    if not checkpoint.is_file():
        raise ModelUnavailable(f"no Detoxify checkpoint at {checkpoint}")
    loaded = read_checkpoint(checkpoint)
    outputs, declared = _check(variant, checkpoint, config_dir, loaded, cache_dir)
    with contextlib.ExitStack() as stack:
        if declared is None:
            # A base model's config.json: transformers would give it its default 2 labels.
            config_dir = stack.enter_context(_config_with_labels(config_dir, outputs))
        source: str | IO[bytes] = str(checkpoint)
        if not Path(str(loaded["config"]["arch"]["args"]["model_type"])).is_dir():
            source = _with_local_model_type(loaded, config_dir)
        del loaded  # let go of the memory map before Detoxify reads the file itself
        with _quiet_transformers(), _legacy_load_warnings():
            return Detoxify(variant, checkpoint=source,
                            huggingface_config_path=str(config_dir), device="cpu")


def _with_local_model_type(loaded: dict[str, Any], config_dir: Path) -> IO[bytes]:
    import torch

    config = dict(loaded["config"])
    config["arch"] = {**config["arch"],
                      "args": {**config["arch"]["args"], "model_type": str(config_dir)}}
    buffer = io.BytesIO()
    torch.save({**loaded, "config": config}, buffer)
    buffer.seek(0)
    return buffer


# --- pull -----------------------------------------------------------------------------------


def offline_instructions(variant: str, cache_dir: Path, url: str) -> str:
    checkpoint, config_dir = cached_files(variant, cache_dir)
    base, outputs = BASE_MODELS.get(variant, ("the checkpoint's model_type", 0))
    labels = f" with num_labels={outputs}" if outputs else ""
    return (
        f"To install it offline, download on a machine with network access and copy here: "
        f"either that machine's whole `guardian models pull {variant}` result "
        f"({Path(cache_dir) / variant}), or the checkpoint {url} saved as {checkpoint} plus "
        f"the Hugging Face config{labels} and tokenizer files of {base} "
        f"(config.json, tokenizer.json or vocab files) in {config_dir}/. The two files can "
        f"also live anywhere: set GUARDIAN_DETOXIFY_CHECKPOINT to the checkpoint file and "
        f"GUARDIAN_DETOXIFY_CONFIG_DIR to the config directory.")


def pull(variant: str, cache_dir: Path, *, progress: bool = True, url: str | None = None,
         timeout: float = 30.0, force: bool = False) -> Path:
    """Download `variant` into `<cache_dir>/<variant>/`; return that directory.

    The checkpoint comes from Detoxify's release URL (or `url`), is checked against the hash
    prefix in its file name and renamed into place only when complete; the base model's
    config and tokenizer are fetched with transformers and saved beside it, again through a
    temporary directory. What is already there is kept unless `force`: a checkpoint copied
    there by hand (no manifest) is checked and recorded instead (`adopt`), never downloaded
    over. The result is checked as loading checks it (`check_files`). Raises
    `ModelUnavailable` when the network cannot be reached, with offline instructions, or
    when the files there are not `variant`'s. (The ONNX Runtime files are made afterwards,
    by `guardian.scoring.detox_onnx.export`: `guardian models pull` does both.)
    """
    from detoxify.detoxify import MODEL_URLS

    if variant not in VARIANTS:
        raise ValueError(f"unknown Detoxify variant {variant!r}; one of {VARIANTS}")
    source = url or str(MODEL_URLS[variant])
    if not force and copied_by_hand(variant, cache_dir):
        return adopt(variant, cache_dir, url=source)
    target = Path(cache_dir) / variant
    target.mkdir(parents=True, exist_ok=True)
    checkpoint, config_dir = cached_files(variant, cache_dir)
    manifest = _read_manifest(target / MANIFEST_FILE)
    if (force or not checkpoint.is_file()
            or (manifest.get("url") != source and not manifest.get("copied_by_hand"))):
        sha256 = _download(source, checkpoint, timeout=timeout, progress=progress,
                           on_network_error=lambda reason: ModelUnavailable(
                               f"Cannot download the Detoxify {variant} model here: {source} "
                               f"is unreachable ({reason}). "
                               + offline_instructions(variant, cache_dir, source)))
        _write_atomic(target / MANIFEST_FILE, json.dumps(
            {"variant": variant, "url": source, "file": source.rsplit("/", 1)[-1],
             "sha256": sha256, "detoxify": _detoxify_version()}, indent=2).encode() + b"\n")
    if force or not _config_dir_complete(config_dir):
        _fetch_config(variant, cache_dir, source, progress=progress)
    check_files(variant, checkpoint, config_dir, cache_dir=cache_dir)
    return target


def copied_by_hand(variant: str, cache_dir: Path) -> bool:
    """Whether `<cache_dir>/<variant>/` holds a checkpoint that `pull` did not write (no
    manifest beside it)."""
    checkpoint, _ = cached_files(variant, cache_dir)
    return checkpoint.is_file() and not (checkpoint.parent / MANIFEST_FILE).exists()


def adopt(variant: str, cache_dir: Path, *, url: str | None = None) -> Path:
    """Check the files copied by hand into `<cache_dir>/<variant>/`, write their manifest;
    return that directory.

    The checkpoint and config directory must pass `check_files` (the variant's model class
    and outputs, a config.json of that model, its tokenizer files). The manifest records
    the release URL (`url`, else Detoxify's) and file name only when the checkpoint's sha256
    matches the hash prefix in that name; otherwise the file is named after its own hash.
    """
    from detoxify.detoxify import MODEL_URLS

    checkpoint, config_dir = cached_files(variant, cache_dir)
    check_files(variant, checkpoint, config_dir, cache_dir=cache_dir)
    sha256 = _sha256(checkpoint)
    source = url or str(MODEL_URLS[variant])
    name = source.rsplit("/", 1)[-1]
    expected = _HASH_IN_NAME.search(name)
    release = expected is not None and sha256.startswith(expected.group(1))
    _write_atomic(checkpoint.parent / MANIFEST_FILE, json.dumps(
        {"variant": variant, "url": source if release else None,
         "file": name if release else f"{checkpoint.stem}-{sha256[:8]}{checkpoint.suffix}",
         "sha256": sha256, "detoxify": _detoxify_version(), "copied_by_hand": True},
        indent=2).encode() + b"\n")
    return checkpoint.parent


def _read_manifest(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class _Progress:
    """A one-line progress display on stderr, redrawn at most twice a second."""

    def __init__(self, label: str, total: int, enabled: bool) -> None:
        self.label, self.total, self.enabled = label, total, enabled
        self.done = 0
        self._shown = 0.0

    def update(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if self.enabled and now - self._shown >= 0.5:
            self._shown = now
            self._draw()

    def _draw(self, end: str = "") -> None:
        mb = self.done / 1e6
        if self.total:
            share = self.done / self.total
            line = f"{self.label}: {mb:.1f}/{self.total / 1e6:.1f} MB ({share:.0%})"
        else:
            line = f"{self.label}: {mb:.1f} MB"
        sys.stderr.write(f"\r{line}{end}")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            self._draw("\n")


_NETWORK_ERRORS = (urllib.error.URLError, TimeoutError, ConnectionError,
                   http.client.HTTPException)


def _download(url: str, dest: Path, *, timeout: float, progress: bool,
              on_network_error: Callable[[str], Exception]) -> str:
    """Stream `url` into `dest` through a temporary file; return the sha256 hex digest."""
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"only http(s) URLs can be pulled, not {url!r}")
    request = urllib.request.Request(  # noqa: S310 (scheme checked above)
        url, headers={"User-Agent": "guardian-models-pull"})
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}-", suffix=".part", dir=dest.parent)
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (scheme checked above)
                    bar = _Progress(f"{dest.parent.name} {url.rsplit('/', 1)[-1]}",
                                    int(response.headers.get("Content-Length") or 0), progress)
                    while block := response.read(1 << 20):
                        out.write(block)
                        digest.update(block)
                        bar.update(len(block))
                    bar.close()
            except _NETWORK_ERRORS as exc:
                reason = getattr(exc, "reason", None) or exc
                raise on_network_error(f"{type(exc).__name__}: {reason}") from exc
            out.flush()
            os.fsync(out.fileno())
        sha256 = digest.hexdigest()
        expected = _HASH_IN_NAME.search(url.rsplit("/", 1)[-1])
        if expected and not sha256.startswith(expected.group(1)):
            raise ModelUnavailable(f"the file downloaded from {url} has sha256 {sha256[:12]}…, "
                                   f"not {expected.group(1)}…: a damaged or changed download; "
                                   "nothing was kept, try again")
        os.replace(tmp, dest)
        return sha256
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _fetch_config(variant: str, cache_dir: Path, url: str, *, progress: bool) -> None:
    """Save the base model's config (with the checkpoint's label count) and tokenizer."""
    import transformers

    checkpoint, config_dir = cached_files(variant, cache_dir)
    args = read_checkpoint(checkpoint)["config"]["arch"]["args"]
    model_class = getattr(transformers, args["model_name"])
    tokenizer_class = getattr(transformers, args["tokenizer_name"])
    staging = Path(tempfile.mkdtemp(prefix=f".{CONFIG_DIR}-", dir=config_dir.parent))
    try:
        if progress:
            sys.stderr.write(f"{variant}: config and tokenizer of {args['model_type']}\n")
        try:
            config = model_class.config_class.from_pretrained(
                args["model_type"], num_labels=args["num_classes"])
            tokenizer = tokenizer_class.from_pretrained(args["model_type"])
        except OSError as exc:  # transformers reports an unreachable hub as OSError
            raise ModelUnavailable(
                f"Cannot download the Detoxify {variant} model's config and tokenizer "
                f"({args['model_type']}) here: {exc}. "
                + offline_instructions(variant, cache_dir, url)) from exc
        config.save_pretrained(str(staging))
        tokenizer.save_pretrained(str(staging))
        # Swap directories: a reader sees the old complete one or the new complete one.
        old = config_dir.with_name(f".{CONFIG_DIR}-old-{os.getpid()}")
        if config_dir.exists():
            config_dir.rename(old)
        staging.rename(config_dir)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
