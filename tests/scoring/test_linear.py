"""The lite Spanish model: hashed n-grams and a linear model (guardian.scoring.linear).

Everything here runs on invented, mild Spanish text, except one cross-validation on the
real OffendES data, which is skipped when /work/shared/data/offendes is absent.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest

from guardian.scoring.linear import (
    FORMAT_VERSION,
    HashedNgramModel,
    LiteSettings,
    cross_validate,
    normalise,
    read_labelled_tsv,
    save_trained,
    shipped_path,
    train_lite,
)
from tests.conftest import SHARED_DATA

OFFENDES = SHARED_DATA / "offendes"

# Small settings keep the invented-corpus models fast and their files tiny.
SMALL = LiteSettings(n_features=2**12)

INSULTS = ("tonto", "idiota", "imbécil", "inútil", "payaso", "bobo")
TARGETS = ("eres un {}", "qué {} eres", "menudo {} estás hecho", "vaya {} de persona")
REQUESTS = (
    "¿a qué hora abre {}?",
    "gracias por la información sobre {}",
    "quería pedir cita para {}",
    "¿dónde queda {}, por favor?",
)
PLACES = ("el centro de salud", "la biblioteca", "la oficina", "el mercado", "la piscina",
          "el ayuntamiento")


def corpus(insults: tuple[str, ...], places: tuple[str, ...]) -> tuple[list[str], list[bool]]:
    offensive = [t.format(w) for t in TARGETS for w in insults]
    neutral = [t.format(p) for t in REQUESTS for p in places]
    return offensive + neutral, [True] * len(offensive) + [False] * len(neutral)


@pytest.fixture(scope="module")
def small_model() -> HashedNgramModel:
    texts, labels = corpus(INSULTS[:4], PLACES[:4])
    return HashedNgramModel.fit(texts, labels, seed=0, settings=SMALL)


def write_tsv(path: Path, texts: list[str], labels: list[bool]) -> None:
    lines = ["comment_id\tcomment\tinfluencer\tinfluencer_gender\tmedia\tlabel"]
    for i, (text, label) in enumerate(zip(texts, labels, strict=True)):
        lines.append(f"{i}\t{text}\tsomeone\twoman\ttwitter\t{'OFP' if label else 'NO'}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_normalise_folds_width_case_and_accents_but_keeps_enye() -> None:
    assert normalise("\uff34\uff2f\uff2e\uff34ÍSIMO") == "tontisimo"  # full-width "TONT"
    assert normalise("Año ÚLTIMO, pingüino") == "año ultimo, pinguino"
    assert normalise("an\u0303o") == "año"  # decomposed ñ is composed, not stripped
    assert normalise("Último", strip_accents=False) == "último"


def test_offensive_scores_above_neutral_on_unseen_combinations(
    small_model: HashedNgramModel,
) -> None:
    # Insults and places the model never saw, in the templates it did.
    offensive, neutral = corpus(INSULTS[4:], ()), corpus((), PLACES[4:])
    p_offensive = small_model.predict_proba(offensive[0])
    p_neutral = small_model.predict_proba(neutral[0])
    assert p_offensive.min() > p_neutral.max()


def test_probabilities_are_in_the_unit_interval(small_model: HashedNgramModel) -> None:
    texts = ["", " ", "👍👍👍", "tonto " * 2000, "¿a qué hora abre?", "\uff21\uff22\u0301\t\n"]
    p = small_model.predict_proba(texts)
    assert p.shape == (len(texts),)
    assert p.dtype == np.float64
    assert np.all((p >= 0) & (p <= 1))
    assert small_model.predict_proba([]).shape == (0,)


def test_a_bare_string_is_refused(small_model: HashedNgramModel) -> None:
    with pytest.raises(TypeError, match="single str"):
        small_model.predict_proba("eres un tonto")


def test_the_model_is_immutable(small_model: HashedNgramModel) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        small_model.intercept = 0.0  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        small_model.word_coef[0] = 1.0


def test_save_and_load_round_trip(small_model: HashedNgramModel, tmp_path: Path) -> None:
    path = tmp_path / "model.npz"
    small_model.save(path)
    loaded = HashedNgramModel.load(path)
    texts = corpus(INSULTS, PLACES)[0] + ["", "algo completamente distinto"]
    assert np.array_equal(loaded.predict_proba(texts), small_model.predict_proba(texts))
    assert np.array_equal(loaded.word_coef, small_model.word_coef)
    assert loaded.word_coef.dtype == np.float32
    assert loaded.settings == small_model.settings
    assert loaded.metadata == small_model.metadata
    assert loaded.version == small_model.version
    with np.load(path, allow_pickle=False) as npz:  # no object arrays: no pickle needed
        assert json.loads(str(npz["header"][()]))["format"] == FORMAT_VERSION


def test_load_refuses_scrambled_hashing(small_model: HashedNgramModel, tmp_path: Path) -> None:
    # Weights that no longer match the stored probe scores stand in for a scikit-learn
    # release that hashes differently.
    path = tmp_path / "model.npz"
    small_model.save(path)
    with np.load(path, allow_pickle=False) as npz:
        arrays = {name: np.array(npz[name]) for name in npz.files}
    arrays["word_coef"] = arrays["word_coef"][::-1].copy()
    with (tmp_path / "scrambled.npz").open("wb") as out:
        np.savez_compressed(out, header=arrays["header"], word_coef=arrays["word_coef"],
                            char_coef=arrays["char_coef"], intercept=arrays["intercept"],
                            probe_logits=arrays["probe_logits"])
    with pytest.raises(ValueError, match="hashing changed"):
        HashedNgramModel.load(tmp_path / "scrambled.npz")


def test_load_refuses_other_files(tmp_path: Path) -> None:
    path = tmp_path / "other.npz"
    with path.open("wb") as out:
        np.savez(out, weights=np.zeros(3))
    with pytest.raises(ValueError, match="not a lite model file"):
        HashedNgramModel.load(path)


def test_same_seed_gives_identical_weights() -> None:
    texts, labels = corpus(INSULTS, PLACES)
    first = HashedNgramModel.fit(texts, labels, seed=7, settings=SMALL)
    second = HashedNgramModel.fit(texts, labels, seed=7, settings=SMALL)
    assert np.array_equal(first.word_coef, second.word_coef)
    assert np.array_equal(first.char_coef, second.char_coef)
    assert first.intercept == second.intercept
    assert first.version == second.version
    assert np.any(first.char_coef != 0)


def test_fit_needs_both_classes() -> None:
    with pytest.raises(ValueError, match="both"):
        HashedNgramModel.fit(["hola", "adiós"], [False, False], seed=0, settings=SMALL)


def test_read_labelled_tsv_repairs_a_tab_inside_a_text(tmp_path: Path) -> None:
    path = tmp_path / "data.tsv"
    path.write_text(
        "comment_id\tcomment\tinfluencer\tinfluencer_gender\tmedia\tlabel\n"
        "1\thola\tyo\tman\tyoutube\tNO\n"
        "2\tuno\tdos\tella\twoman\tinstagram\tOFP\n",
        encoding="utf-8",
    )
    texts, labels, repaired = read_labelled_tsv(path, text_column="comment",
                                                label_column="label")
    assert texts == ["hola", "uno\tdos"]
    assert labels == ["NO", "OFP"]
    assert repaired == 1


def test_train_lite_is_deterministic_and_reports(tmp_path: Path) -> None:
    texts, labels = corpus(INSULTS, PLACES)
    data = tmp_path / "train.tsv"
    write_tsv(data, texts, labels)
    runs = [train_lite(lang="es", data=data, seed=3, folds=3, settings=SMALL,
                       created=dt.date(2025, 1, 2)) for _ in range(2)]
    (model, report), (again, _) = runs
    assert np.array_equal(model.word_coef, again.word_coef)
    assert np.array_equal(model.char_coef, again.char_coef)
    assert report["rows"] == len(texts)
    assert report["positives"] == sum(labels)
    assert len(report["fold_auc"]) == 3
    assert report["cv_auc_mean"] == pytest.approx(np.mean(report["fold_auc"]))
    assert report["training_file"] == "train.tsv"
    assert report["texts_per_s"] > 0
    assert model.metadata.language == "es"
    assert model.metadata.cv_auc_mean == report["cv_auc_mean"]
    assert model.version.startswith("2025-01-02.")
    json.dumps(report)  # JSON-ready as it is

    json_path = save_trained(model, report, tmp_path / "lite-es.npz")
    document = json.loads(json_path.read_text(encoding="utf-8"))
    assert document["model_bytes"] == (tmp_path / "lite-es.npz").stat().st_size
    assert HashedNgramModel.load(tmp_path / "lite-es.npz").version == model.version


def test_train_lite_checks_its_arguments(tmp_path: Path) -> None:
    data = tmp_path / "train.tsv"
    write_tsv(data, *corpus(INSULTS, PLACES))
    with pytest.raises(ValueError, match="ISO 639-1"):
        train_lite(lang="spanish", data=data, seed=0)
    with pytest.raises(ValueError, match="no column 'texto'"):
        train_lite(lang="es", data=data, seed=0, text_column="texto")


def test_shipped_spanish_model_ranks_insults_above_requests() -> None:
    path = shipped_path("es")
    assert path.is_file(), f"{path} is missing: train it with `guardian train-lite`"
    assert path.stat().st_size < 3_000_000
    model = HashedNgramModel.load(path)
    assert model.metadata.language == "es"
    assert model.metadata.training_file == "training_set.tsv"
    assert model.metadata.seed == 0
    assert model.metadata.cv_auc_mean is not None and model.metadata.cv_auc_mean >= 0.85
    insults = ["eres un tonto y un inútil", "qué idiota eres", "eres un imbécil",
               "cállate, tonto"]
    requests = ["¿a qué hora abre el centro de salud?", "quería pedir cita para el martes",
                "gracias por la ayuda de ayer", "¿dónde está la biblioteca municipal?"]
    p_insults, p_requests = model.predict_proba(insults), model.predict_proba(requests)
    assert np.all((p_insults >= 0) & (p_insults <= 1))
    assert p_insults.min() > p_requests.max()
    assert p_insults.min() > 0.5 > p_requests.max()


def test_shipped_report_matches_the_weights() -> None:
    document = json.loads(shipped_path("es").with_suffix(".json").read_text(encoding="utf-8"))
    model = HashedNgramModel.load(shipped_path("es"))
    assert document["model_version"] == model.version
    assert document["settings"] == model.settings.to_json()
    assert document["cv_auc_mean"] == model.metadata.cv_auc_mean


@pytest.mark.slow
@pytest.mark.skipif(not (OFFENDES / "training_set.tsv").is_file(),
                    reason=f"OffendES is not at {OFFENDES} (shared data, not in the repo)")
def test_offendes_five_fold_auc() -> None:
    texts, raw, _ = read_labelled_tsv(OFFENDES / "training_set.tsv", text_column="comment",
                                      label_column="label")
    labels = [label in ("OFP", "OFG") for label in raw]
    aucs = cross_validate(texts, labels, seed=0, folds=5)
    assert float(np.mean(aucs)) >= 0.85, aucs
