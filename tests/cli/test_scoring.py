"""`guardian score`, `guardian eval` and `guardian train-lite`, run as a user runs them."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from tests.commands import env_for, run


def test_score_prints_level_masked_text_and_reasons_without_any_download(
        tmp_path: Path) -> None:
    env = env_for(GUARDIAN_MODELS_DIR=str(tmp_path / "models"))
    shown = run("score", "Sois unos inútiles, la farola sigue rota", "Book the hall, please",
                env=env)
    assert shown.returncode == 0, shown.stderr
    assert "level: abusive" in shown.stdout and "level: none" in shown.stdout
    assert "masked: Sois unos [insulto], la farola sigue rota" in shown.stdout
    # Lite is active because no Detoxify weights are here: it says so and how to fix it.
    assert "guardian models pull multilingual" in shown.stderr
    as_json = run("score", "--json", "--lang", "en", "you stupid clown", env=env)
    [line] = as_json.stdout.splitlines()
    result = json.loads(line)
    assert result["level"] == "abusive" and result["lang"] == "en"
    assert result["masked_text"] == "you [insult]"
    assert result["scorer"]["name"] == "lite"
    assert set(result["labels"]) == {"toxicity", "severe_toxicity", "obscene", "threat",
                                     "insult", "identity_attack", "sexual_explicit"}


def test_asking_for_detoxify_without_weights_names_the_fix(tmp_path: Path) -> None:
    env = env_for(GUARDIAN_MODELS_DIR=str(tmp_path / "models"))
    refused = run("score", "--scorer", "detoxify", "hola", env=env)
    assert refused.returncode == 2
    assert "guardian models pull multilingual" in refused.stderr


def _write_csv(path: Path, delimiter: str) -> None:
    rows = [("Quiero reservar la sala el viernes", "NO"),
            ("¿A qué hora abre el centro de salud?", "NO"),
            ("La farola de mi calle no funciona", "NO"),
            ("Gracias por arreglar el contenedor", "NO"),
            ("Eres un idiota y un inútil", "OFP"),
            ("Sois unos payasos, dimitid", "OFP"),
            ("Menudo imbécil el concejal", "OFP"),
            ("Que asco de ayuntamiento de sinvergüenzas", "OFG")]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(["id", "comment", "label"])
        for index, (text, label) in enumerate(rows * 5):
            writer.writerow([index, text, label])


def test_eval_reads_labelled_csv_or_tsv_and_reports_json(tmp_path: Path) -> None:
    data = tmp_path / "labelled.tsv"
    _write_csv(data, "\t")
    env = env_for(GUARDIAN_MODELS_DIR=str(tmp_path / "models"))
    shown = run("eval", "--data", str(data), "--text-column", "comment", "--label-column",
                "label", "--positive", "OFP,OFG", "--delimiter", "\\t", "--scorer", "lite",
                env=env)
    assert shown.returncode == 0, shown.stderr
    report = json.loads(shown.stdout)
    assert report["texts"] == 40 and report["positives"] == 20
    assert report["roc_auc_toxicity"] > 0.9
    assert report["abusive_level"]["recall"] > 0.5
    assert report["texts_per_second"] > 0
    obfuscated = json.loads(run("eval", "--data", str(data), "--text-column", "comment",
                                "--label-column", "label", "--positive", "OFP,OFG",
                                "--delimiter", "tab", "--obfuscate", env=env).stdout)
    assert obfuscated["obfuscated"] is True and obfuscated["roc_auc_toxicity"] > 0.8
    wrong = run("eval", "--data", str(data), "--text-column", "tweet", "--label-column",
                "label", "--positive", "OFP", env=env)
    assert wrong.returncode == 2 and "no column 'tweet'" in wrong.stderr


def test_train_lite_is_deterministic_and_writes_weights_and_report(tmp_path: Path) -> None:
    data = tmp_path / "train.tsv"
    _write_csv(data, "\t")
    env = env_for()
    first = run("train-lite", "--lang", "es", "--data", str(data), "--seed", "3", "--folds",
                "2", "--out", str(tmp_path / "a" / "lite-es.npz"), env=env)
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["rows"] == 40 and report["seed"] == 3 and len(report["fold_auc"]) == 2
    second = run("train-lite", "--lang", "es", "--data", str(data), "--seed", "3", "--folds",
                 "2", "--out", str(tmp_path / "b" / "lite-es.npz"), env=env)
    assert second.returncode == 0
    assert ((tmp_path / "a" / "lite-es.npz").read_bytes()
            == (tmp_path / "b" / "lite-es.npz").read_bytes())
    assert (tmp_path / "a" / "lite-es.json").exists()
