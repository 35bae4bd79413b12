"""`guardian eval`: how well the active scorer separates abusive from harmless text."""

from __future__ import annotations

import csv
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score

from guardian.scoring.assessor import Assessor
from guardian.scoring.obfuscate import obfuscate


class DataError(Exception):
    """The evaluation file cannot be read as asked; the message says what to change."""


@dataclass(frozen=True)
class Labelled:
    texts: list[str]
    positive: list[bool]


def read_labelled(path: Path, *, text_column: str, label_column: str, positive: Sequence[str],
                  delimiter: str = ",", quoting: str | None = None,
                  limit: int | None = None) -> Labelled:
    """Rows of a CSV or TSV file; a row is positive when its label is one of `positive`.

    Tab-separated files are read without quoting (as most TSV data sets are written);
    pass `quoting="minimal"` to override.
    """
    mode = quoting or ("none" if delimiter == "\t" else "minimal")
    csv.field_size_limit(sys.maxsize)
    texts: list[str] = []
    labels: list[bool] = []
    wanted = {p.strip() for p in positive}
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle, delimiter=delimiter,
                                    quoting=csv.QUOTE_NONE if mode == "none" else
                                    csv.QUOTE_MINIMAL)
            columns = reader.fieldnames or []
            for column in (text_column, label_column):
                if column not in columns:
                    raise DataError(f"{path}: no column {column!r}; the columns are "
                                    f"{', '.join(columns) or 'none'} (check --delimiter).")
            for row in reader:
                text, label = row.get(text_column), row.get(label_column)
                if text is None or label is None:
                    continue
                texts.append(text)
                labels.append(label.strip() in wanted)
                if limit is not None and len(texts) >= limit:
                    break
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror}).") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: is not UTF-8 text.") from None
    if not texts:
        raise DataError(f"{path}: holds no rows.")
    if all(labels) or not any(labels):
        raise DataError(f"{path}: every row is {'positive' if labels[0] else 'negative'} with "
                        f"--positive {','.join(sorted(wanted))}; check the label values.")
    return Labelled(texts, labels)


def evaluate(assessor: Assessor, data: Labelled, *, obfuscate_seed: int | None = None,
             batch_size: int = 256) -> dict[str, Any]:
    """ROC-AUC of toxicity; precision, recall and F1 of the abusive level; texts/s."""
    texts = data.texts
    if obfuscate_seed is not None:
        texts = [obfuscate(t, seed=obfuscate_seed + i) for i, t in enumerate(texts)]
    toxicity: list[float] = []
    abusive: list[bool] = []
    started = time.perf_counter()
    for start in range(0, len(texts), batch_size):
        for result in assessor.assess(texts[start:start + batch_size]):
            toxicity.append(result.labels["toxicity"])
            abusive.append(result.level in ("abusive", "threat"))
    seconds = time.perf_counter() - started
    return {
        "scorer": {"name": assessor.info.name, "variant": assessor.info.variant,
                   "version": assessor.info.version},
        "texts": len(texts),
        "positives": sum(data.positive),
        "obfuscated": obfuscate_seed is not None,
        "roc_auc_toxicity": round(float(roc_auc_score(data.positive, toxicity)), 4),
        "abusive_level": {
            "precision": round(float(precision_score(data.positive, abusive, zero_division=0)),
                               4),
            "recall": round(float(recall_score(data.positive, abusive, zero_division=0)), 4),
            "f1": round(float(f1_score(data.positive, abusive, zero_division=0)), 4),
        },
        "texts_per_second": round(len(texts) / seconds, 1) if seconds else None,
    }


# --- levels and masks, message by message (`guardian eval --levels FILE`) -----------------

LEVEL_ORDER = ("none", "rude", "abusive", "threat")
_CASE_KEYS = ("id", "kind", "lang", "text", "level", "labels", "masked", "hide", "keep")


@dataclass(frozen=True)
class Case:
    """One message with what a careful moderator expects (tests/data/town_messages.jsonl)."""

    id: str
    kind: str
    lang: str
    text: str
    level: str
    labels: tuple[str, ...]
    masked: str
    hide: tuple[str, ...]
    keep: tuple[str, ...]


def read_cases(path: Path) -> list[Case]:
    """JSON Lines, one case a line; every problem named with its line number."""
    cases: list[Case] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror}).") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: is not UTF-8 text.") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}:{number}: not JSON ({exc.msg}).") from None
        if not isinstance(raw, dict):
            raise DataError(f"{path}:{number}: expected an object with {', '.join(_CASE_KEYS)}.")
        missing = [k for k in _CASE_KEYS if k not in raw]
        if missing:
            raise DataError(f"{path}:{number}: missing {', '.join(missing)}.")
        if raw["level"] not in LEVEL_ORDER:
            raise DataError(f"{path}:{number}: level {raw['level']!r} is not one of "
                            f"{', '.join(LEVEL_ORDER)}.")
        cases.append(Case(id=str(raw["id"]), kind=str(raw["kind"]), lang=str(raw["lang"]),
                          text=str(raw["text"]), level=str(raw["level"]),
                          labels=tuple(raw["labels"]), masked=str(raw["masked"]),
                          hide=tuple(raw["hide"]), keep=tuple(raw["keep"])))
    if not cases:
        raise DataError(f"{path}: holds no cases.")
    return cases


def _base_kind(kind: str) -> str:
    return kind.removeprefix("obfuscated_")


def evaluate_levels(assessor: Assessor, cases: Sequence[Case], *, use_hints: bool = False,
                    batch_size: int = 256) -> dict[str, Any]:
    """The confusion table of levels and what the targets read: exact level, threats
    caught, requests held or stripped of what staff need, abuse left visible, masked texts
    that differ from the expected ones."""
    results = []
    for start in range(0, len(cases), batch_size):
        chunk = cases[start:start + batch_size]
        results += assessor.assess([c.text for c in chunk],
                                   [c.lang if use_hints else None for c in chunk])
    confusion = {want: dict.fromkeys(LEVEL_ORDER, 0) for want in LEVEL_ORDER}
    wrong_level: list[dict[str, str]] = []
    visible: list[dict[str, Any]] = []
    stripped: list[dict[str, Any]] = []
    held: list[dict[str, str]] = []
    mismatched: list[dict[str, str]] = []
    by_kind: dict[str, list[int]] = {}
    for case, result in zip(cases, results, strict=True):
        confusion[case.level][result.level] += 1
        right = result.level == case.level
        tally = by_kind.setdefault(case.kind, [0, 0])
        tally[0] += right
        tally[1] += 1
        if not right:
            wrong_level.append({"id": case.id, "expected": case.level, "got": result.level,
                                "text": case.text})
        shown = [h for h in case.hide if h in result.masked_text]
        if shown:
            visible.append({"id": case.id, "visible": shown, "masked": result.masked_text})
        lost = [k for k in case.keep if k not in result.masked_text]
        legitimate = case.level in ("none", "rude")
        if legitimate and result.level in ("abusive", "threat"):
            held.append({"id": case.id, "got": result.level, "text": case.text})
        if legitimate and lost:
            stripped.append({"id": case.id, "lost": lost, "masked": result.masked_text})
        if result.masked_text != case.masked:
            mismatched.append({"id": case.id, "expected": case.masked,
                               "got": result.masked_text})
    threats = [c for c in cases if c.level == "threat"]
    caught = sum(r.level == "threat" for c, r in zip(cases, results, strict=True)
                 if c.level == "threat")
    obfuscated = [(c, r) for c, r in zip(cases, results, strict=True)
                  if c.kind.startswith("obfuscated_")]
    return {
        "scorer": {"name": assessor.info.name, "variant": assessor.info.variant,
                   "version": assessor.info.version},
        "cases": len(cases),
        "exact_level": round(sum(confusion[k][k] for k in LEVEL_ORDER) / len(cases), 4),
        "threats_caught": round(caught / len(threats), 4) if threats else None,
        "legitimate_held": len(held),
        "legitimate_stripped": len(stripped),
        "abuse_left_visible": len(visible),
        "obfuscated_exact_level": round(sum(r.level == c.level for c, r in obfuscated)
                                        / len(obfuscated), 4) if obfuscated else None,
        "masked_exact": round(1 - len(mismatched) / len(cases), 4),
        "confusion": confusion,
        "by_kind": {kind: {"right": right, "of": total}
                    for kind, (right, total) in sorted(by_kind.items())},
        "wrong_level": wrong_level,
        "held": held,
        "stripped": stripped,
        "visible": visible,
        "masked_mismatches": mismatched,
    }


def levels_table(report: dict[str, Any]) -> str:
    """The confusion table and the headline figures, as text for a terminal."""
    lines = [f"{report['cases']} cases, scorer {report['scorer']['name']} "
             f"{report['scorer']['variant']}",
             "expected \\ got " + "".join(f"{g:>9}" for g in LEVEL_ORDER)]
    for want in LEVEL_ORDER:
        row = report["confusion"][want]
        lines.append(f"{want:<15}" + "".join(f"{row[g]:>9}" for g in LEVEL_ORDER))
    lines += [f"exact level {report['exact_level']:.1%}",
              f"threats caught {report['threats_caught']:.1%}"
              if report["threats_caught"] is not None else "threats caught: no threat cases",
              f"legitimate messages held {report['legitimate_held']}, stripped of what staff "
              f"need {report['legitimate_stripped']}",
              f"abuse left visible in {report['abuse_left_visible']} masked text(s)",
              f"masked text as expected {report['masked_exact']:.1%}"]
    return "\n".join(lines)
