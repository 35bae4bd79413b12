"""The town's signal model: word classes, the shipped weights, training, files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from guardian.policy.harassment import HarassmentPolicy
from guardian.scoring import signals
from guardian.scoring.assessor import Assessor
from guardian.scoring.lite import LiteModel
from guardian.scoring.normalise import normalise
from guardian.scoring.signals import (
    Example,
    SignalModel,
    SignalSettings,
    prepare,
    read_examples,
    shipped,
    train,
    word_classes,
)

TRAINING = Path(__file__).resolve().parents[2] / "training" / "signals"


def _score(model: SignalModel, text: str) -> dict[str, float]:
    return model.score([normalise(text).text])[0]


def test_word_classes_give_both_languages_the_same_pattern() -> None:
    assert word_classes(prepare("tus hijos")) == word_classes(prepare("your kids")) \
        == "YOU FAMILY"
    assert word_classes(prepare("te quemo la furgoneta")).split()[:2] == ["YOU", "HARM"]
    assert word_classes(prepare("@carmen_luz 7 farolas")) == "MENTION NUM _"


def _not_in_training(*texts: str) -> None:
    written = "\n".join(p.read_text(encoding="utf-8").casefold()
                        for p in TRAINING.glob("*.jsonl"))
    for text in texts:
        assert text.casefold() not in written, f"{text!r} is a training example"


THREATS_NO_RULE_LISTS = (
    "Bonito coche tienes, sería una pena que amaneciera sin ruedas",
    "Sé a qué hora sales del trabajo y por dónde vas a casa",
    "Someone should teach that officer a lesson he will not forget",
)
HARMLESS = (
    "Hay un incendio en el monte detrás del polideportivo, llamad a los bomberos",
    "Mi hijo se cayó en el parque por un bache, ¿quién lo arregla?",
    "The bins on Calle Nueva were not collected again this week",
)


def test_the_shipped_model_catches_threats_in_words_no_rule_lists() -> None:
    model = shipped()
    assert model is not None, "guardian/scoring/data/signals.npz is missing"
    _not_in_training(*THREATS_NO_RULE_LISTS, *HARMLESS)
    for text in THREATS_NO_RULE_LISTS:
        assert _score(model, text)["threat"] >= 0.5, text
    for text in HARMLESS:
        assert max(_score(model, text).values()) < 0.5, text
    assert _score(model, "Los inmigrantes vienen a quitarnos las ayudas, fuera de aquí"
                  )["identity_attack"] >= 0.5


def test_a_threat_only_the_model_finds_is_masked_by_its_clause_and_the_request_stays(
        ) -> None:
    # No grammar rules: only the signal model can see this threat.
    policy = HarassmentPolicy(use_builtin_rules=False)
    assessor = Assessor(model=LiteModel(), policy=policy)
    text = ("La farola de la calle Olmo sigue fundida. Bonito coche tienes, sería una pena "
            "que amaneciera sin ruedas")
    [result] = assessor.assess([text])
    assert result.level == "threat"
    assert result.masked_text.startswith("La farola de la calle Olmo sigue fundida.")
    assert "ruedas" not in result.masked_text and "[amenaza]" in result.masked_text
    assert any("signal model" in reason for reason in result.reasons)


def _tiny_set() -> tuple[list[Example], list[str]]:
    threats = [f"te voy a {verb} {when}" for verb in ("pillar", "buscar", "esperar")
               for when in ("a la salida", "cuando salgas", "esta noche", "en tu casa")]
    other = [f"la {thing} de la calle {street} sigue rota"
             for thing in ("farola", "fuente", "papelera", "acera")
             for street in ("mayor", "nueva", "real")]
    ordinary = [f"buenos dias a todos, hoy hace {w} en el pueblo numero {n}"
                for w in ("sol", "frio", "viento", "calor") for n in range(60)]
    return ([Example(t, "threat", "es") for t in threats]
            + [Example(t, "other", "es") for t in other]
            + [Example("eres un payaso y un inutil", "insult", "es")] * 3
            + [Example("que guapa estas hoy en la oficina", "sexual", "es")] * 3
            + [Example("fuera los inmigrantes de aqui", "identity", "es")] * 3, ordinary)


def test_training_is_deterministic_and_holds_false_alarms_to_the_target() -> None:
    examples, ordinary = _tiny_set()
    settings = SignalSettings(n_features=2**12)
    first = train(examples, ordinary, seed=3, settings=settings, folds=3)
    again = train(examples, ordinary, seed=3, settings=settings, folds=3)
    assert first.version == again.version
    assert first.labels == ("threat", "sexual_explicit", "identity_attack", "insult")
    for label in first.labels:
        assert first.report[label]["held_out_false_alarms"] <= signals.TARGET_FALSE_ALARMS
    assert _score(first, "te voy a pillar a la salida")["threat"] > \
        _score(first, "la farola de la calle mayor sigue rota")["threat"]


def test_a_saved_model_reads_back_the_same_and_a_changed_one_is_refused(
        tmp_path: Path) -> None:
    examples, ordinary = _tiny_set()
    model = train(examples, ordinary, seed=0, settings=SignalSettings(n_features=2**12),
                  folds=3)
    path = tmp_path / "signals.npz"
    model.save(path)
    loaded = SignalModel.load(path)
    text = "te voy a buscar cuando salgas"
    assert _score(loaded, text) == pytest.approx(_score(model, text))
    with np.load(path) as npz:
        arrays = {key: np.array(npz[key]) for key in npz.files}
    header = json.loads(str(arrays["header"][()]))
    header["classes"] = "something-else"

    def write(name: str, changed: dict[str, np.ndarray]) -> None:
        with (tmp_path / name).open("wb") as out:
            np.savez(out, **{**arrays, **changed})  # type: ignore[arg-type]

    write("other-classes.npz", {"header": np.array(json.dumps(header))})
    with pytest.raises(ValueError, match="other word classes"):
        SignalModel.load(tmp_path / "other-classes.npz")
    write("drifted.npz", {"probe_logits": arrays["probe_logits"] + 1.0})
    with pytest.raises(ValueError, match="hashing changed"):
        SignalModel.load(tmp_path / "drifted.npz")


def test_a_bad_training_line_is_named_by_file_and_line(tmp_path: Path) -> None:
    data = tmp_path / "bad.jsonl"
    data.write_text('{"text": "hola", "label": "other"}\n{"text": "sin etiqueta"}\n',
                    encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.jsonl:2: not an example line"):
        read_examples([data])


def test_the_shipped_training_files_are_well_formed() -> None:
    examples = read_examples(sorted(TRAINING.glob("*.jsonl")))
    assert len(examples) >= 5000
    labels = {e.label for e in examples}
    assert labels == {"threat", "sexual", "identity", "insult", "other"}
    assert {e.lang for e in examples} == {"es", "en"}
