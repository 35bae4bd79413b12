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


TOWN_CASES = [
    {"id": "es-request-01", "kind": "request", "lang": "es",
     "text": "La farola de la calle Mayor no enciende, ¿podéis mirarlo?", "level": "none",
     "labels": [], "masked": "La farola de la calle Mayor no enciende, ¿podéis mirarlo?",
     "hide": [], "keep": ["calle Mayor"]},
    {"id": "es-insult-01", "kind": "insult_staff", "lang": "es",
     "text": "Eres un inútil, arregla la farola de una vez", "level": "abusive",
     "labels": ["insult"], "masked": "Eres un [insulto], arregla la farola de una vez",
     "hide": ["inútil"], "keep": ["arregla la farola"]},
    {"id": "es-threat-01", "kind": "threat_wait", "lang": "es",
     "text": "Te voy a esperar a la salida del ayuntamiento", "level": "threat",
     "labels": ["threat"], "masked": "[amenaza]", "hide": ["esperar"], "keep": []},
    {"id": "en-request-01", "kind": "request", "lang": "en",
     "text": "Could someone look at the broken bench in the park?", "level": "rude",
     "labels": [], "masked": "Could someone look at the broken bench in the park?",
     "hide": [], "keep": ["broken bench"]},
]


def test_eval_levels_prints_the_confusion_table_and_every_mismatch(tmp_path: Path) -> None:
    cases = tmp_path / "cases.jsonl"
    cases.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in TOWN_CASES),
                     encoding="utf-8")
    env = env_for(GUARDIAN_MODELS_DIR=str(tmp_path / "models"))
    shown = run("eval", "--levels", str(cases), "--scorer", "lite", env=env)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == "4 cases, scorer lite en+es"
    assert lines[1].split() == ["expected", "\\", "got", "none", "rude", "abusive", "threat"]
    # The last case expects "rude" on purpose: the table and the list show the miss.
    assert lines[3].split() == ["rude", "1", "0", "0", "0"]
    assert "exact level 75.0%" in shown.stdout and "threats caught 100.0%" in shown.stdout
    assert "level  en-request-01: expected rude, got none" in shown.stdout
    report = json.loads(run("eval", "--levels", str(cases), "--json", env=env).stdout)
    assert report["cases"] == 4 and report["confusion"]["threat"]["threat"] == 1
    assert report["legitimate_held"] == 0 and report["legitimate_stripped"] == 0
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": "x"}\n', encoding="utf-8")
    bad = run("eval", "--levels", str(broken), env=env)
    assert bad.returncode == 2 and "broken.jsonl:1: missing" in bad.stderr
    neither = run("eval", env=env)
    assert neither.returncode == 2 and "give --levels FILE" in neither.stderr


def test_the_shipped_town_messages_meet_the_targets(tmp_path: Path) -> None:
    """The public set (tests/data/town_messages.jsonl) holds the shield to its promise:
    exact level at least 90%, threats caught at least 95%, no legitimate message held or
    stripped of its place or callback."""
    env = env_for(GUARDIAN_MODELS_DIR=str(tmp_path / "models"))
    data = Path(__file__).resolve().parents[1] / "data" / "town_messages.jsonl"
    shown = run("eval", "--levels", str(data), "--json", "--scorer", "lite", env=env)
    assert shown.returncode == 0, shown.stderr
    report = json.loads(shown.stdout)
    assert report["cases"] >= 300
    assert report["exact_level"] >= 0.90, report["wrong_level"]
    assert report["threats_caught"] >= 0.95, report["wrong_level"]
    assert report["legitimate_held"] == 0, report["held"]
    assert report["legitimate_stripped"] == 0, report["stripped"]
    # No insult aimed at staff is left to read, obfuscated or not.
    insults = [shown for shown in report["visible"] if "insult" in shown["id"]]
    assert insults == []


def test_train_signals_writes_a_model_and_its_report(tmp_path: Path) -> None:
    data = tmp_path / "examples.jsonl"
    rows = ([{"text": f"te voy a esperar {w}", "label": "threat"} for w in
             ("a la salida", "cuando salgas", "en tu casa", "esta noche", "en el parking")]
            + [{"text": f"la farola de la calle {s} sigue rota", "label": "other"} for s in
               ("mayor", "nueva", "real", "ancha", "baja", "alta")])
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "model" / "signals.npz"
    shown = run("train-signals", "--data", str(data), "--out", str(out), env=env_for())
    assert shown.returncode == 0, shown.stderr
    report = json.loads(shown.stdout)
    assert report["threat"]["examples"] == 5 and out.exists()
    wrong = run("train-signals", "--data", str(data), "--out", str(tmp_path / "x.bin"),
                env=env_for())
    assert wrong.returncode == 2 and "--out must name a .npz file" in wrong.stderr
