"""`guardian eval`: how well the active scorer separates abusive from harmless text."""

from __future__ import annotations

import csv
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
