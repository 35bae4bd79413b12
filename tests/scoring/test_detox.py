"""DetoxifyModel on tiny random checkpoints, loaded through Detoxify's own code; `pull` offline."""

from __future__ import annotations

import hashlib
import http.server
import json
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from guardian.scoring import detox
from guardian.scoring.detox import DetoxifyModel, ModelUnavailable
from guardian.scoring.types import Model
from guardian.types import LABELS, LabelScores
from tests.detoxify_tiny import TinyVariant, build_tiny_checkpoint, tiny_words

WORDS = tiny_words()
SHORT = ["kalomi ne", "", "Sato rukami, vize!", " ".join(WORDS[:9]),
         "Un texto corto en español.", " ".join(WORDS[50:60])]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    root = tmp_path_factory.mktemp("tiny")
    return {v: build_tiny_checkpoint(root, v) for v in ("original", "multilingual")}


@pytest.fixture(scope="module")
def models(tiny: dict[str, tuple[Path, Path]]) -> dict[str, DetoxifyModel]:
    return {v: DetoxifyModel(v, checkpoint=ck, config_dir=cd) for v, (ck, cd) in tiny.items()}


def assert_valid(scores: list[LabelScores], count: int) -> None:
    assert len(scores) == count
    for row in scores:
        assert tuple(row) == LABELS
        assert all(isinstance(p, float) and 0.0 <= p <= 1.0 for p in row.values())


def assert_close(a: list[LabelScores], b: list[LabelScores], tol: float = 1e-5) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        for label in LABELS:
            assert abs(x[label] - y[label]) <= tol, (label, x[label], y[label])


@pytest.mark.parametrize("variant", ["original", "multilingual"])
def test_scores_every_label_in_range(models: dict[str, DetoxifyModel], variant: str) -> None:
    model: Model = models[variant]
    assert model.name == "detoxify" and model.variant == variant
    assert model.version.startswith("0.") and f"+{variant}-" in model.version
    scores = model.score(SHORT)
    assert_valid(scores, len(SHORT))
    assert model.score([]) == []
    if variant == "original":  # the original checkpoint has no sexual_explicit head
        assert all(row["sexual_explicit"] == 0.0 for row in scores)
        assert model.languages == frozenset({"en"})
    else:
        assert all(row["sexual_explicit"] > 0.0 for row in scores)
        assert model.languages == frozenset({"en", "fr", "es", "it", "pt", "tr", "ru"})


@pytest.mark.parametrize("variant", ["original", "multilingual"])
def test_matches_detoxify_predict(tiny: dict[str, tuple[Path, Path]],
                                  models: dict[str, DetoxifyModel], variant: str) -> None:
    # Same numbers as Detoxify's own predict(), each under its own label name.
    reference = detox.load_detoxify(variant, *tiny[variant]).predict(SHORT)
    ours = models[variant].score(SHORT)
    for label, column in reference.items():
        for i, row in enumerate(ours):
            assert abs(row[label] - column[i]) <= 1e-5


@pytest.mark.parametrize("variant", ["original", "multilingual"])
def test_batched_equals_one_by_one(tiny: dict[str, tuple[Path, Path]], variant: str) -> None:
    model = DetoxifyModel(variant, checkpoint=tiny[variant][0], config_dir=tiny[variant][1],
                          batch_size=3, window=24)
    texts = [*SHORT, " ".join(WORDS[:70]), " ".join(reversed(WORDS[:45]))]
    batched = model.score(texts)
    assert_valid(batched, len(texts))
    assert_close(batched, [model.score([t])[0] for t in texts])


def test_passes_group_windows_of_similar_length(models: dict[str, DetoxifyModel]) -> None:
    # Longest first; a new pass when a window is shorter than 85% of the pass's longest, or
    # when the pass is full: padding stays a small share of each pass.
    model = models["original"]
    lengths = [10, 40, 9, 38, 35, 20, 18]
    ids = [[1] * n for n in lengths]
    assert list(model._batches(ids)) == [[1, 3, 4], [5, 6], [0, 2]]
    small = DetoxifyModel.from_loaded(_Loaded(model), "original", batch_size=2)
    assert list(small._batches(ids)) == [[1, 3], [4], [5, 6], [0, 2]]


def test_long_text_keeps_the_maximum_of_its_windows(tiny: dict[str, tuple[Path, Path]]) -> None:
    # In the tiny BERT vocabulary every word is one token, so windows are runs of words.
    model = DetoxifyModel("original", checkpoint=tiny["original"][0],
                          config_dir=tiny["original"][1], window=16, overlap=4)
    words = WORDS[:100]
    ids, owners = model.windows([" ".join(words)])
    room, step = 16 - 2, 16 - 2 - 4
    starts = list(range(0, len(words) - 4, step))
    assert owners == [0] * len(starts) and len(ids) == len(starts) == 10
    assert all(len(window) <= 16 for window in ids)
    parts = model.score([" ".join(words[s:s + room]) for s in starts])
    whole = model.score([" ".join(words)])[0]
    for label in LABELS:
        assert abs(whole[label] - max(p[label] for p in parts)) <= 1e-5
    # Not a truncation: later windows raise some labels above the first window's score.
    assert any(whole[label] > parts[0][label] + 1e-4 for label in LABELS)


def test_long_multilingual_text_is_windowed(tiny: dict[str, tuple[Path, Path]]) -> None:
    model = DetoxifyModel("multilingual", checkpoint=tiny["multilingual"][0],
                          config_dir=tiny["multilingual"][1], window=16, overlap=4)
    text = " ".join(WORDS[:80])
    ids, _ = model.windows([text])
    assert len(ids) > 3 and all(len(w) <= 16 for w in ids)
    assert_valid(model.score([text, "ka"]), 2)


def test_default_window_follows_the_model(models: dict[str, DetoxifyModel]) -> None:
    # The tiny models have 128 positions (XLM-R: 130, less its padding offset of 2).
    assert models["original"].window == models["multilingual"].window == 128
    with pytest.raises(ValueError, match="window"):
        DetoxifyModel.from_loaded(_Loaded(models["original"]), "original", window=129)


class _Loaded:
    """A Detoxify-like object around another model's parts (exercises from_loaded)."""

    def __init__(self, model: DetoxifyModel) -> None:
        self.model = model._model
        self.tokenizer = model._tokenizer
        self.class_names = ["toxicity", "severe_toxicity", "obscene", "threat", "insult",
                            "identity_attack"]


@pytest.mark.parametrize("variant", ["original", "multilingual"])
def test_quantized_scores_stay_valid(tiny: dict[str, tuple[Path, Path]],
                                     models: dict[str, DetoxifyModel], variant: str) -> None:
    import torch

    model = DetoxifyModel(variant, checkpoint=tiny[variant][0], config_dir=tiny[variant][1],
                          quantize=True, window=32)
    assert model.quantized and model.version.endswith("+int8")
    assert not any(type(m) is torch.nn.Linear for m in model._model.modules())
    texts = [*SHORT, " ".join(WORDS[:90])]
    scores = model.score(texts)
    assert_valid(scores, len(texts))
    # Same model, coarser arithmetic: scores move a little (more in a random tiny model).
    full = models[variant].score(texts)
    diffs = [abs(q[label] - f[label]) for q, f in zip(scores, full, strict=True)
             for label in LABELS]
    assert sum(diffs) / len(diffs) < 0.05
    model.warm_up()


def _as_cache(cache: Path, variant: str, checkpoint: Path, config_dir: Path) -> None:
    target = cache / variant
    target.mkdir(parents=True)
    shutil.copy(checkpoint, target / "checkpoint.ckpt")
    shutil.copytree(config_dir, target / "hf")


def test_available_and_cache_loading(tiny: dict[str, tuple[Path, Path]],
                                     tmp_path: Path) -> None:
    assert not detox.available("original", tmp_path)
    with pytest.raises(ModelUnavailable, match="guardian models pull original"):
        DetoxifyModel("original", cache_dir=tmp_path)
    _as_cache(tmp_path, "original", *tiny["original"])
    assert detox.available("original", tmp_path)
    assert not detox.available("multilingual", tmp_path)
    (tmp_path / "original" / "hf" / "config.json").unlink()  # half a copy is not enough
    assert not detox.available("original", tmp_path)
    shutil.copy(tiny["original"][1] / "config.json", tmp_path / "original" / "hf")
    (tmp_path / "original" / "manifest.json").write_text(json.dumps(
        {"file": "toxic_original-c1212f89.ckpt"}))
    model = DetoxifyModel("original", cache_dir=tmp_path)
    assert model.version.endswith("+toxic_original-c1212f89")
    assert_valid(model.score(SHORT), len(SHORT))


def test_config_with_the_wrong_label_count_is_refused(tiny: dict[str, tuple[Path, Path]],
                                                      tmp_path: Path) -> None:
    config_dir = tmp_path / "hf"
    shutil.copytree(tiny["original"][1], config_dir)
    config = json.loads((config_dir / "config.json").read_text())
    config["id2label"] = {"0": "LABEL_0", "1": "LABEL_1"}
    (config_dir / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelUnavailable, match="declares 2 labels but the checkpoint has 6"):
        DetoxifyModel("original", checkpoint=tiny["original"][0], config_dir=config_dir)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_pull_offline_fails_fast_and_plainly(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/toxic_original-c1212f89.ckpt"
    started = time.monotonic()
    with pytest.raises(ModelUnavailable) as caught:
        detox.pull("original", tmp_path, progress=False, url=url, timeout=2)
    assert time.monotonic() - started < 5
    message = str(caught.value)
    assert message.startswith("Cannot download the Detoxify original model here")
    for needed in (url, str(tmp_path / "original" / "checkpoint.ckpt"),
                   str(tmp_path / "original" / "hf"), "bert-base-uncased", "num_labels=6",
                   "GUARDIAN_DETOXIFY_CHECKPOINT", "GUARDIAN_DETOXIFY_CONFIG_DIR"):
        assert needed in message
    assert list((tmp_path / "original").iterdir()) == []  # no partial file left behind
    assert not detox.available("original", tmp_path)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A loopback HTTP server over a directory: stands in for the release downloads."""
    root = tmp_path / "www"
    root.mkdir()

    def handler(*args: object, **kwargs: object) -> _Quiet:
        return _Quiet(*args, directory=str(root), **kwargs)  # type: ignore[arg-type]

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.parametrize("variant", ["original", "multilingual"])
def test_pull_over_loopback_fills_the_cache(serve: tuple[Path, str], tmp_path: Path,
                                            variant: TinyVariant) -> None:
    root, base = serve
    # model_type is a local directory here, so the "hub" part of pull also works offline.
    checkpoint, _ = build_tiny_checkpoint(tmp_path / "src", variant, local_model_type=True)
    sha = hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    name = f"tiny_{variant}-{sha[:8]}.ckpt"
    shutil.copy(checkpoint, root / name)
    cache = tmp_path / "cache"
    assert detox.pull(variant, cache, progress=False, url=f"{base}/{name}") == cache / variant
    assert detox.available(variant, cache)
    assert (cache / variant / "checkpoint.ckpt").read_bytes() == checkpoint.read_bytes()
    manifest = json.loads((cache / variant / "manifest.json").read_text())
    assert manifest["file"] == name and manifest["sha256"] == sha
    assert sorted(p.name for p in (cache / variant).iterdir()) == [
        "checkpoint.ckpt", "hf", "manifest.json"]
    model = DetoxifyModel(variant, cache_dir=cache)
    assert model.version.endswith(f"+tiny_{variant}-{sha[:8]}")
    assert_valid(model.score(SHORT), len(SHORT))
    # Already there: a second pull downloads nothing (the server no longer has the file).
    (root / name).unlink()
    detox.pull(variant, cache, progress=False, url=f"{base}/{name}")


def test_pull_refuses_a_file_that_does_not_match_its_hash(serve: tuple[Path, str],
                                                          tmp_path: Path) -> None:
    root, base = serve
    checkpoint, _ = build_tiny_checkpoint(tmp_path / "src", "original", local_model_type=True)
    shutil.copy(checkpoint, root / "toxic_original-c1212f89.ckpt")
    with pytest.raises(ModelUnavailable, match="damaged or changed download"):
        detox.pull("original", tmp_path / "cache", progress=False,
                   url=f"{base}/toxic_original-c1212f89.ckpt")
    assert list((tmp_path / "cache" / "original").iterdir()) == []


# --- what is loaded is the variant's: the head, the config, the tokenizer files ------------


def _strip_label_count(config_dir: Path) -> None:
    """config.json as a base model's (e.g. bert-base-uncased's): no label count at all."""
    config = json.loads((config_dir / "config.json").read_text())
    for key in ("num_labels", "id2label", "label2id"):
        config.pop(key, None)
    (config_dir / "config.json").write_text(json.dumps(config))


def _edited_checkpoint(source: Path, target: Path, edit: Callable[[dict[str, Any]], None]
                       ) -> Path:
    import torch

    loaded = torch.load(source, weights_only=False)
    edit(loaded)
    torch.save(loaded, target)
    return target


@pytest.mark.parametrize("variant", ["original", "multilingual"])
def test_a_config_without_a_label_count_loads_with_the_checkpoints_head(
        tiny: dict[str, tuple[Path, Path]], models: dict[str, DetoxifyModel], tmp_path: Path,
        variant: str) -> None:
    # Before: transformers built its default 2-label head and failed on the checkpoint's.
    config_dir = tmp_path / "hf"
    shutil.copytree(tiny[variant][1], config_dir)
    _strip_label_count(config_dir)
    model = DetoxifyModel(variant, checkpoint=tiny[variant][0], config_dir=config_dir)
    config: Any = model._model.config
    assert config.num_labels == {"original": 6, "multilingual": 16}[variant]
    # The checkpoint's own head, not a new random one: the same scores.
    assert_close(model.score(SHORT), models[variant].score(SHORT))
    assert "num_labels" not in json.loads((config_dir / "config.json").read_text())


def test_a_checkpoint_whose_head_cannot_be_read_is_refused(
        tiny: dict[str, tuple[Path, Path]], tmp_path: Path) -> None:
    def headless(loaded: dict[str, Any]) -> None:
        for key in ("classifier.weight", "classifier.bias"):
            del loaded["state_dict"][key]

    checkpoint = _edited_checkpoint(tiny["original"][0], tmp_path / "headless.ckpt", headless)
    with pytest.raises(ModelUnavailable) as caught:
        DetoxifyModel("original", checkpoint=checkpoint, config_dir=tiny["original"][1])
    assert str(caught.value).startswith(f"{checkpoint} has no classifier layer")
    assert "`guardian models pull original`" in str(caught.value)


def test_a_head_that_disagrees_with_the_variants_labels_is_refused(
        tiny: dict[str, tuple[Path, Path]], tmp_path: Path) -> None:
    config_dir = tmp_path / "hf"
    shutil.copytree(tiny["original"][1], config_dir)
    _strip_label_count(config_dir)

    def four_labels(loaded: dict[str, Any]) -> None:
        state = loaded["state_dict"]
        state["classifier.weight"] = state["classifier.weight"][:4].clone()
        state["classifier.bias"] = state["classifier.bias"][:4].clone()
        loaded["config"]["arch"]["args"]["num_classes"] = 4

    checkpoint = _edited_checkpoint(tiny["original"][0], tmp_path / "four.ckpt", four_labels)
    with pytest.raises(ModelUnavailable, match=r"4 outputs\) looks like no Detoxify release, "
                       r"not the original checkpoint \(BertForSequenceClassification, 6"):
        DetoxifyModel("original", checkpoint=checkpoint, config_dir=config_dir)

    def says_six(loaded: dict[str, Any]) -> None:
        four_labels(loaded)
        loaded["config"]["arch"]["args"]["num_classes"] = 6

    edited = _edited_checkpoint(tiny["original"][0], tmp_path / "edited.ckpt", says_six)
    with pytest.raises(ModelUnavailable, match="num_classes=6 but its classifier has 4 outputs"):
        DetoxifyModel("original", checkpoint=edited, config_dir=config_dir)


@pytest.mark.parametrize(("variant", "files", "looks"), [
    ("multilingual", "original", "original"), ("unbiased", "original", "original"),
    ("original", "multilingual", "multilingual"), ("unbiased", "multilingual", "multilingual"),
])
def test_a_checkpoint_of_another_variant_is_refused_saying_which_it_looks_like(
        tiny: dict[str, tuple[Path, Path]], variant: str, files: str, looks: str) -> None:
    checkpoint, config_dir = tiny[files]
    with pytest.raises(ModelUnavailable) as caught:
        DetoxifyModel(variant, checkpoint=checkpoint, config_dir=config_dir)
    message = str(caught.value)
    assert message.startswith(f"{checkpoint} looks like the Detoxify {looks} checkpoint (")
    assert f"not the {variant} one (" in message
    assert f"GUARDIAN_DETOXIFY_VARIANT={looks}" in message and message.endswith(".")


def test_a_cached_checkpoint_of_another_variant_says_where_to_move_it(
        tiny: dict[str, tuple[Path, Path]], tmp_path: Path) -> None:
    _as_cache(tmp_path, "multilingual", *tiny["original"])
    with pytest.raises(ModelUnavailable) as caught:
        DetoxifyModel("multilingual", cache_dir=tmp_path)
    assert (f"move {tmp_path / 'multilingual'} to {tmp_path / 'original'} and set "
            "GUARDIAN_DETOXIFY_VARIANT=original") in str(caught.value)


def test_a_config_directory_of_another_model_is_refused(
        tiny: dict[str, tuple[Path, Path]], tmp_path: Path) -> None:
    # The multilingual checkpoint beside BERT's config.json and tokenizer.
    with pytest.raises(ModelUnavailable, match=r"config.json is the config of a bert model but "
                       r"the multilingual checkpoint is XLMRobertaForSequenceClassification"):
        DetoxifyModel("multilingual", checkpoint=tiny["multilingual"][0],
                      config_dir=tiny["original"][1])
    # XLM-R's config with a BERT vocabulary only: vocab.txt is no XLM-R tokenizer.
    config_dir = tmp_path / "hf"
    config_dir.mkdir()
    shutil.copy(tiny["multilingual"][1] / "config.json", config_dir)
    shutil.copy(tiny["original"][1] / "vocab.txt", config_dir)
    with pytest.raises(ModelUnavailable, match=r"has no tokenizer files for xlm-roberta-base "
                       r"\(tokenizer.json, or sentencepiece.bpe.model\)"):
        DetoxifyModel("multilingual", checkpoint=tiny["multilingual"][0], config_dir=config_dir)


def test_a_refused_checkpoint_stops_detoxify_and_auto_falls_back_to_lite(
        tiny: dict[str, tuple[Path, Path]], tmp_path: Path) -> None:
    from guardian.config.settings import Settings
    from guardian.errors import ScorerUnavailable
    from guardian.scoring.select import load_model

    checkpoint, config_dir = tiny["original"]
    settings = Settings(scorer="detoxify", detoxify_variant="multilingual",
                        models_dir=tmp_path / "models", detoxify_checkpoint=checkpoint,
                        detoxify_config_dir=config_dir)
    with pytest.raises(ScorerUnavailable, match="looks like the Detoxify original checkpoint"):
        load_model(settings)
    model, status = load_model(settings, "auto")
    assert model.name == "lite"
    assert "looks like the Detoxify original checkpoint" in (status.warning or "")


# --- pull: a copy made by hand is checked and recorded, not downloaded again ---------------


def test_pull_adopts_a_copy_made_by_hand_without_downloading(
        tiny: dict[str, tuple[Path, Path]], tmp_path: Path) -> None:
    _as_cache(tmp_path, "original", *tiny["original"])
    assert detox.copied_by_hand("original", tmp_path)
    unreachable = f"http://127.0.0.1:{_closed_port()}/toxic_original-c1212f89.ckpt"
    assert detox.pull("original", tmp_path, progress=False, url=unreachable) == (
        tmp_path / "original")
    assert not detox.copied_by_hand("original", tmp_path)
    sha = hashlib.sha256(tiny["original"][0].read_bytes()).hexdigest()
    manifest = json.loads((tmp_path / "original" / "manifest.json").read_text())
    # Not the release file (its hash is not c1212f89...): named after its own hash.
    assert manifest == {"variant": "original", "url": None,
                        "file": f"checkpoint-{sha[:8]}.ckpt", "sha256": sha,
                        "detoxify": manifest["detoxify"], "copied_by_hand": True}
    model = DetoxifyModel("original", cache_dir=tmp_path)
    assert model.version.endswith(f"+checkpoint-{sha[:8]}")
    # Pulled again: still nothing to download.
    detox.pull("original", tmp_path, progress=False, url=unreachable)


def test_pull_records_a_copy_of_the_release_file_as_the_release(
        tiny: dict[str, tuple[Path, Path]], tmp_path: Path) -> None:
    _as_cache(tmp_path, "multilingual", *tiny["multilingual"])
    sha = hashlib.sha256(tiny["multilingual"][0].read_bytes()).hexdigest()
    url = f"http://127.0.0.1:{_closed_port()}/multilingual_debiased-{sha[:8]}.ckpt"
    detox.pull("multilingual", tmp_path, progress=False, url=url)
    manifest = json.loads((tmp_path / "multilingual" / "manifest.json").read_text())
    assert (manifest["url"], manifest["file"]) == (url, f"multilingual_debiased-{sha[:8]}.ckpt")


@pytest.mark.parametrize(("breakage", "named"), [
    ("no config", "original/hf/config.json is missing: copy the config.json and tokenizer "
                  "files of bert-base-uncased into "),
    ("no tokenizer", "original/hf has no tokenizer files for bert-base-uncased "
                     "(tokenizer.json, or vocab.txt)"),
    ("truncated", "original/checkpoint.ckpt cannot be read as a Detoxify checkpoint"),
    ("labels", "original/hf/config.json declares 2 labels but the checkpoint has 6 outputs"),
], ids=["no config.json", "no tokenizer", "truncated", "two labels"])
def test_pull_refuses_a_broken_copy_naming_the_file(
        tiny: dict[str, tuple[Path, Path]], tmp_path: Path, breakage: str, named: str) -> None:
    _as_cache(tmp_path, "original", *tiny["original"])
    hf = tmp_path / "original" / "hf"
    if breakage == "no config":
        (hf / "config.json").unlink()
    elif breakage == "no tokenizer":
        (hf / "tokenizer.json").unlink()
        (hf / "vocab.txt").unlink()
    elif breakage == "truncated":
        ckpt = tmp_path / "original" / "checkpoint.ckpt"
        ckpt.write_bytes(ckpt.read_bytes()[:5000])
    else:
        config = json.loads((hf / "config.json").read_text())
        config["id2label"] = {"0": "LABEL_0", "1": "LABEL_1"}
        (hf / "config.json").write_text(json.dumps(config))
    unreachable = f"http://127.0.0.1:{_closed_port()}/toxic_original-c1212f89.ckpt"
    with pytest.raises(ModelUnavailable) as caught:
        detox.pull("original", tmp_path, progress=False, url=unreachable)
    assert f"{tmp_path}/{named}" in str(caught.value)
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "original" / "manifest.json").exists()


def test_pull_refuses_a_copy_of_another_variant(tiny: dict[str, tuple[Path, Path]],
                                                tmp_path: Path) -> None:
    _as_cache(tmp_path, "multilingual", *tiny["original"])
    with pytest.raises(ModelUnavailable, match="looks like the Detoxify original checkpoint"):
        detox.pull("multilingual", tmp_path, progress=False,
                   url=f"http://127.0.0.1:{_closed_port()}/x-0b549669.ckpt")
    assert not (tmp_path / "multilingual" / "manifest.json").exists()
