"""The town's signal model: threats, sexual harassment, attacks on groups and insults as
one small linear model per label, trained on town-hall messages written for Guardian.

The grammar (`grammar.py`) catches what is said the usual way ("te voy a esperar a la
salida"); people also threaten in words no rule lists ("nice van, be a shame if someone
put sugar in the tank"). This model learns those from examples. Its features are three
hashed blocks of the *plain* text (normalised, accents off, @mentions as "@user"):

- character n-grams inside word boundaries (spelling variants, inflections);
- word n-grams (phrases);
- n-grams of *word classes*: each word replaced by its class ("te" -> YOU, "coche" ->
  THING, "hospital" -> HARM, "hijos" -> FAMILY, "@carmen" -> MENTION...), so that "your
  kids" and "tus hijos", "I'll burn your car" and "te quemo la furgoneta" share the
  pattern FAMILY after YOU, HARM near THING. A few hundred examples teach these patterns
  where they could never teach every word.

One logistic regression per label (one-vs-rest, balanced classes) over the same features:
one hashing pass, then a sparse product with a (labels x features) matrix. After training
each label's intercept is shifted so that 0.5 is its decision point at a measured false
alarm rate on ordinary social-media text held out from training (`TARGET_FALSE_ALARMS`),
which is what the policy's thresholds expect. Weights ship in one `.npz` without pickle,
with probe scores that detect a change in the hashing (as the lite model does).

Scoring is pure (no I/O, no clock); `load`, `save` and `train` are the adapters around it.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import hashlib
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from guardian.scoring.grammar import plain
from guardian.scoring.hashing import NgramHasher

FORMAT_VERSION = 1
SHIPPED = Path(__file__).resolve().parent / "data" / "signals.npz"
# The labels the model gives, in the order of its weight rows; the training files' labels
# ("threat", "sexual", "identity", "insult"; anything else is a negative for all).
LABELS: tuple[str, ...] = ("threat", "sexual_explicit", "identity_attack", "insult")
FILE_LABELS = {"threat": "threat", "sexual": "sexual_explicit",
               "identity": "identity_attack", "insult": "insult"}
# At most this share of ordinary social-media text may reach 0.5 (a false alarm).
TARGET_FALSE_ALARMS = 0.005
# ...and at most this share of town-hall messages of other kinds (scored out of fold).
TARGET_TOWN_FALSE_ALARMS = 0.02

_PROBES: tuple[str, ...] = (
    "¿a que hora abre el centro de salud?",
    "the bins on calle nueva were not collected",
    "te espero en la oficina a las nueve",
)
_PROBE_TOLERANCE = 1e-4

# --- word classes ---------------------------------------------------------------------------
# Plain text: lower case, no accents. A word in none of these is "_" (kept, so that
# distance counts). Classes are about what a threat is made of, in both town languages.
_CLASSES: dict[str, str] = {
    "YOU": """te ti tu tus contigo os vosotros vosotras vuestro vuestra vuestros vuestras
        usted ustedes tuyo tuya tuyos tuyas you your yours yourself yourselves u ur ya""",
    "ME": """yo me mi mis conmigo nosotros nosotras nos nuestro nuestra i me my mine we us
        our myself im ill ive id""",
    # Not "el", "la", "los", "las", "lo": in Spanish they are far more often articles
    # ("la farola de la calle") than pronouns ("la voy a..."), and as THEM they made
    # plain street reports look like attacks on a group (docs/scoring.md).
    "THEM": """le les ella ellos ellas su sus he him his she her they them their""",
    "FAMILY": """hijo hija hijos hijas nino nina ninos ninas crio cria crios nene nenes
        chiquillo chiquilla mujer marido esposa esposo novia novio madre padre padres mama
        papa abuela abuelo abuelos familia hermano hermana nietos sobrino sobrina suegra
        kid kids child children son sons daughter daughters wife husband mum mom mother
        dad father family twins partner girlfriend boyfriend missus grandkids nan""",
    "HARM": """matar mato matare mataria muerto muerta muertos muera mueras morir morirte
        tiro tiros disparo disparos bala balas pistola escopeta navaja navajazo punal
        punalada punala cuchillo rajar rajo paliza palizas hostia hostias ostia palos
        tortazo guantazo pegar pego partir parto romper rompo rompere reventar reviento
        tieso tiesa sangre hospital urgencias uci cementerio tumba ataud entierro
        tanatorio fuego quemar quemo quemare arder arda ardiera incendio incendiar
        gasolina mechero ladrillo ladrillos piedra piedras pedrada pedradas escarmiento
        leccion merecido cobrar cobraras pagar pagaras pagareis enterar enteraras
        acordar acordaras arrepentir arrepentiras lio liar liare susto sustos accidente
        accidentes desgracia desgracias electrocute electrocutes atropellar atropello
        bomba destrozar destrozo
        kill killed killing dead die dies dying death shoot shooting shot shots gun guns
        knife knives stab stabbed stabbing beat beating beaten hiding kicking thump
        punch smack hurt hurts harm bleed blood hospital grave graves cemetery coffin
        bury buried burn burning burnt fire petrol lighter torch brick bricks stone
        stones smash smashed break broken breakable slash slashed sugar lesson regret
        pay sorry accident accidents coming bomb wreck wrecked trash trashed ruin""",
    "WATCH": """vives vive viven aparcas aparca sigo siguiendo seguido seguirte siguiendote
        vigilo vigilando vigilar visto veo mirando foto fotos horario horarios salida
        salgas sales sale esperando espero esperare esperaremos esperarte pillar pillo
        pillare encontrar buscarte buscare ruta rutina controlado controlao solo sola
        solita solito
        live lives living park parks parked parking follow followed following watch
        watching watched seen see photo photos pictures schedule routine waiting wait
        outside alone shift leave leaving find""",
    "THING": """coche coches furgoneta moto casa piso chalet ventana ventanas cristales
        lunas ruedas puerta portal contenedor contenedores oficina oficinas
        ayuntamiento comisaria centro edificio negocio tienda buzon tejado
        car cars van vans bike house home flat window windows glass tyres tires door
        office offices building hall station shop roof""",
    "PLACE": """colegio cole guarderia instituto gimnasio gym supermercado super mercado
        residencia parque parking aparcamiento calle esquina barrio urbanizacion
        school nursery gym supermarket street corner estate""",
    "OMEN": """pena lastima cuidado cuidaito veras vera verais veremos ojo suerte ojala
        avisado aviso advertido sabes sabe casualidad tranquilo tranquila paciencia
        pronto dia noche vuelve
        shame pity careful warned warning luck hope someday soon night know knows
        funny shame remember forget forgotten patience""",
    "IF": """como si o cuando hasta mientras otra vez if or unless when until till
        else otherwise next""",
    "CALL": """alguien nadie vecinos todos gente quien hay habria deberia alguno
        someone somebody anyone everyone people lads volunteers whoever should""",
    "BODY": """cara boca dientes piernas cuello cabeza crisma costillas cuerpo culo tetas
        pecho uniforme foto fotos guapa guapo rubia morena tia buena cuerpazo sexy
        face mouth teeth legs neck head ribs body bum arse ass boobs tits uniform
        pretty gorgeous hot sexy legs lips""",
    "GROUP": """moros moro gitanos gitano gitanas negros negro sudacas sudaca chinos
        inmigrantes extranjeros ilegales musulmanes judios maricones maricon bolleras
        gays travelos mujeres mujer feminazis subnormales
        immigrants foreigners migrants muslims jews gays women blacks latinos gypsies
        refugees illegals""",
}
_WORD_CLASS: dict[str, str] = {w: name for name, words in _CLASSES.items()
                               for w in words.split()}
# One character per class for the features: character n-grams of "yhto" cost a third of
# word n-grams of "YOU HARM THEM THING" and say the same.
_CODE = {"YOU": "y", "ME": "m", "THEM": "t", "FAMILY": "f", "HARM": "h", "WATCH": "w",
         "THING": "o", "PLACE": "p", "OMEN": "n", "IF": "i", "CALL": "c", "BODY": "b",
         "GROUP": "g", "MENTION": "@", "NUM": "#"}
_WORD_CODE: dict[str, str] = {w: _CODE[name] for w, name in _WORD_CLASS.items()}
# Every character `class_codes` writes.
CLASS_ALPHABET = "".join(sorted({*_CODE.values(), "_"}))
_TOKEN = re.compile(r"@\w+|\d+|[^\W\d_]+")
_MENTION = re.compile(r"@\w+")
_WORD_TOKENS = r"(?u)\b\w+\b"


def word_classes(plain_text: str) -> str:
    """The text as a sequence of word classes (see the module docstring)."""
    out = []
    for token in _TOKEN.findall(plain_text):
        if token[0] == "@":
            out.append("MENTION")
        elif token[0].isdigit():
            out.append("NUM")
        else:
            out.append(_WORD_CLASS.get(token, "_"))
    return " ".join(out)


class _Codes(dict[str, str]):
    """Each token's class code, remembered (up to `_CODES_SIZE` tokens) once asked."""

    def __missing__(self, token: str) -> str:
        code = ("@" if token[0] == "@" else "#" if token[0].isdigit()
                else _WORD_CODE.get(token, "_"))
        if len(self) >= _CODES_SIZE:
            self.clear()
        self[token] = code
        return code


_CODES_SIZE = 1 << 16
_TOKEN_CODES = _Codes()


def class_codes(plain_text: str) -> str:
    """`word_classes` as one character per word ("_" for a word of no class)."""
    return "".join(map(_TOKEN_CODES.__getitem__, _TOKEN.findall(plain_text)))


def classes_digest() -> str:
    """Identifies the word classes: a model trained with other classes is refused."""
    return hashlib.sha256(json.dumps([_CLASSES, _CODE], sort_keys=True).encode()
                          ).hexdigest()[:12]


def prepare(normalised: str) -> str:
    """The model's view of an (already normalised) text."""
    bare = plain(normalised)
    return _MENTION.sub("@user", bare) if "@" in bare else bare


@dataclass(frozen=True)
class SignalSettings:
    # Chosen on town-hall messages held out from training (docs/scoring.md): one order of
    # character n-grams scores as well as 3-5 at twice the speed (hashing is the cost).
    char_ngrams: tuple[int, int] = (4, 4)
    # "char" n-grams run across word boundaries ("e vo" of "te voy"); "char_wb" stay inside
    # words and cost twice as much to make (one Python loop per word).
    char_analyzer: str = "char_wb"
    word_ngrams: tuple[int, int] = (1, 2)
    class_ngrams: tuple[int, int] = (2, 4)
    n_features: int = 2**17  # per block
    class_weight: float = 2.0  # the class block's scale against the other two
    c: float = 4.0

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SignalSettings:
        pairs = {k: (int(data[k][0]), int(data[k][1]))
                 for k in ("char_ngrams", "word_ngrams", "class_ngrams")}
        return cls(**pairs, n_features=int(data["n_features"]),
                   char_analyzer=str(data.get("char_analyzer", "char_wb")),
                   class_weight=float(data["class_weight"]), c=float(data["c"]))


@functools.lru_cache(maxsize=4)
def _vectorizers(settings: SignalSettings) -> tuple[NgramHasher, ...]:
    """The three blocks' hashers: `HashingVectorizer(norm="l2", alternate_sign=False,
    lowercase=False, dtype=float32)`'s features, made faster (`hashing.py`)."""
    return (NgramHasher(settings.char_analyzer, settings.char_ngrams, settings.n_features),
            NgramHasher("word", settings.word_ngrams, settings.n_features,
                        token_pattern=_WORD_TOKENS),
            NgramHasher("char", settings.class_ngrams, settings.n_features,
                        alphabet=CLASS_ALPHABET))


def features(prepared: Sequence[str], settings: SignalSettings) -> Any:
    """The (texts x 3*n_features) sparse matrix of already prepared texts."""
    chars, words, classes = _vectorizers(settings)
    if len(prepared) == 0:
        return sparse.csr_matrix((0, 3 * settings.n_features), dtype=np.float32)
    blocks = [chars.transform(prepared), words.transform(prepared),
              classes.transform([class_codes(t) for t in prepared])]
    if settings.class_weight != 1.0:
        blocks[2] = blocks[2] * settings.class_weight
    return sparse.hstack(blocks, format="csr")


def _sigmoid(z: NDArray[np.float64]) -> NDArray[np.float64]:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


@dataclass(frozen=True, eq=False)
class SignalModel:
    """Trained weights: one row per label of `labels`."""

    settings: SignalSettings
    labels: tuple[str, ...]
    coef: NDArray[np.float32]        # (labels, 3 * n_features)
    intercepts: NDArray[np.float64]  # (labels,)
    report: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        coef = np.array(self.coef, dtype=np.float32)
        shape = (len(self.labels), 3 * self.settings.n_features)
        if coef.shape != shape or not np.all(np.isfinite(coef)):
            raise ValueError(f"coef: expected finite weights of shape {shape}")
        coef.flags.writeable = False
        object.__setattr__(self, "coef", coef)
        # Scoring multiplies a (texts x features) matrix by this (features x labels) one.
        object.__setattr__(self, "_weights", sparse.csr_matrix(coef.T))
        intercepts = np.array(self.intercepts, dtype=np.float64)
        if intercepts.shape != (len(self.labels),):
            raise ValueError("intercepts: one per label")
        object.__setattr__(self, "intercepts", intercepts)

    @property
    def version(self) -> str:
        digest = hashlib.sha256(self.coef.tobytes())
        digest.update(self.intercepts.tobytes())
        return f"signals.{digest.hexdigest()[:12]}"

    def logits(self, normalised: Sequence[str]) -> NDArray[np.float64]:
        """(texts x labels) logits of normalised texts."""
        if len(normalised) == 0:
            return np.zeros((0, len(self.labels)))
        x = features([prepare(t) for t in normalised], self.settings)
        z = (x @ self._weights).toarray()  # type: ignore[attr-defined]
        return np.asarray(z, dtype=np.float64) + self.intercepts

    def score(self, normalised: Sequence[str]) -> list[dict[str, float]]:
        """Each label's probability for each normalised text."""
        probabilities = _sigmoid(self.logits(normalised))
        return [dict(zip(self.labels, (float(p) for p in row), strict=True))
                for row in probabilities]

    # -- storage -------------------------------------------------------------------

    def save(self, path: Path) -> None:
        header = {"format": FORMAT_VERSION, "kind": "guardian-signals",
                  "labels": list(self.labels), "settings": self.settings.to_json(),
                  "classes": classes_digest(), "report": self.report,
                  "sklearn": _version("scikit-learn"), "probes": list(_PROBES)}
        with Path(path).open("wb") as out:
            np.savez_compressed(
                out, header=np.array(json.dumps(header, ensure_ascii=False, sort_keys=True)),
                coef=self.coef.astype(np.float16), intercepts=self.intercepts,
                probe_logits=self.logits(_PROBES))

    @classmethod
    def load(cls, path: Path) -> SignalModel:
        with np.load(Path(path), allow_pickle=False) as npz:
            try:
                header = json.loads(str(npz["header"][()]))
                arrays = {k: np.array(npz[k]) for k in ("coef", "intercepts", "probe_logits")}
            except KeyError as exc:
                raise ValueError(f"{path}: not a signal model file (missing {exc})") from exc
        if header.get("format") != FORMAT_VERSION or header.get("kind") != "guardian-signals":
            raise ValueError(f"{path}: not a signal model of format {FORMAT_VERSION}")
        if header.get("classes") != classes_digest():
            raise ValueError(f"{path}: trained with other word classes than this code's; "
                             "retrain it (`guardian train-signals`)")
        model = cls(settings=SignalSettings.from_json(header["settings"]),
                    labels=tuple(header["labels"]), coef=arrays["coef"],
                    intercepts=arrays["intercepts"], report=header.get("report", {}))
        drift = np.abs(model.logits(tuple(header["probes"])) - arrays["probe_logits"])
        if float(drift.max(initial=0.0)) > _PROBE_TOLERANCE:
            raise ValueError(f"{path}: probe scores differ from those saved (scikit-learn "
                             f"{header['sklearn']} then, {_version('scikit-learn')} now): "
                             "the hashing changed; retrain the model")
        return model


@functools.lru_cache(maxsize=1)
def shipped() -> SignalModel | None:
    """The model shipped in the package, or None when it is not there."""
    return SignalModel.load(SHIPPED) if SHIPPED.exists() else None


def _version(package: str) -> str:
    try:
        return importlib_metadata.version(package)
    except importlib_metadata.PackageNotFoundError:
        return "unknown"


# --- training -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    text: str
    label: str  # one of FILE_LABELS, or anything else for "none of them"
    lang: str = ""
    # Labels this example says nothing about (an offensive comment from a corpus may be
    # an insult; it is a negative only for the other labels).
    unknown: frozenset[str] = frozenset()


def read_examples(paths: Iterable[Path]) -> list[Example]:
    """JSON lines with `text` and `label` (and `lang`); a bad line names its file:line."""
    examples = []
    for path in paths:
        with Path(path).open(encoding="utf-8") as f:
            for number, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                    examples.append(Example(str(row["text"]), str(row["label"]),
                                            str(row.get("lang", ""))))
                except (ValueError, KeyError, TypeError) as exc:
                    raise ValueError(f"{path}:{number}: not an example line "
                                     f"(expected JSON with text and label): {exc}") from None
    return examples


def read_ordinary(offendes: Path | None, davidson: Path | None) -> list[str]:
    """Ordinary social-media text, labelled harmless by its annotators: the negatives
    that teach the model what everyday posts look like and set its false-alarm rate."""
    texts: list[str] = []
    if offendes is not None:
        for name in ("training_set.tsv", "dev_set.tsv"):
            with (offendes / name).open(encoding="utf-8", newline="") as f:
                for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
                    if row.get("label") in ("NO", "NOE") and row.get("comment"):
                        texts.append(row["comment"])
    if davidson is not None:
        with (davidson / "labeled_data.csv").open(encoding="utf-8", newline="") as f:
            texts += [row["tweet"] for row in csv.DictReader(f) if row.get("class") == "2"]
    return texts


def read_offensive(offendes: Path | None, davidson: Path | None) -> list[Example]:
    """Offensive comments from the corpora, as negatives for what they are not: swearing
    and insults are not threats or sexual harassment, and a comment offensive to a
    person is not an attack on a group. (Without them the model takes any swear word for
    sexual harassment: its town examples of that label swear more than the others.)"""
    found: list[Example] = []
    if offendes is not None:
        unknown = {"OFP": frozenset({"insult"}),
                   "OFG": frozenset({"insult", "identity_attack"})}
        for name in ("training_set.tsv", "dev_set.tsv"):
            with (offendes / name).open(encoding="utf-8", newline="") as f:
                for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
                    label = row.get("label") or ""
                    if label in unknown and row.get("comment"):
                        found.append(Example(row["comment"], "offensive", "es",
                                             unknown[label]))
    if davidson is not None:
        # 0 hate speech, 1 offensive language.
        unknown = {"0": frozenset({"insult", "identity_attack"}),
                   "1": frozenset({"insult"})}
        with (davidson / "labeled_data.csv").open(encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                if row.get("class") in unknown and row.get("tweet"):
                    found.append(Example(row["tweet"], "offensive", "en",
                                         unknown[row["class"]]))
    return found


def train(examples: Sequence[Example], ordinary: Sequence[str], *, seed: int = 0,
          settings: SignalSettings | None = None, normalise_text: Any = None,
          folds: int = 5) -> SignalModel:
    """Fit one logistic regression per label on `examples` plus ordinary texts (as
    negatives), then shift each intercept so that 0.5 is a cautious decision point: at
    most `TARGET_FALSE_ALARMS` of a held-out third of the ordinary texts, and at most
    `TARGET_TOWN_FALSE_ALARMS` of the town examples of other labels scored out of fold
    (by a model that never saw them), reach it. Deterministic given `seed`."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    settings = settings or SignalSettings()
    norm = normalise_text or (lambda t: t.casefold())
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(ordinary))
    held_out = [ordinary[i] for i in order[: len(order) // 3]]
    negatives = [ordinary[i] for i in order[len(order) // 3:]]
    texts = [norm(e.text) for e in examples] + [norm(t) for t in negatives]
    x = features([prepare(t) for t in texts], settings)
    x_held = features([prepare(norm(t)) for t in held_out], settings)
    town = np.arange(len(texts)) < len(examples)

    unknown = [e.unknown for e in examples] + [frozenset()] * len(negatives)

    def fit(rows: Any, y: NDArray[np.bool_]) -> tuple[NDArray[np.float64], float]:
        estimator = LogisticRegression(C=settings.c, class_weight="balanced",
                                       solver="liblinear", dual=True, max_iter=2000,
                                       random_state=seed).fit(x[rows], y[rows])
        return (np.asarray(estimator.coef_, dtype=np.float64).ravel(),
                float(estimator.intercept_[0]))

    rows: list[NDArray[np.float32]] = []
    intercepts: list[float] = []
    report: dict[str, Any] = {}
    labels = tuple(label for label in LABELS
                   if any(FILE_LABELS.get(e.label) == label for e in examples))
    if not labels:
        raise ValueError(f"no example of any of {', '.join(FILE_LABELS)}")
    for label in labels:
        y = np.array([FILE_LABELS.get(e.label) == label for e in examples]
                     + [False] * len(negatives))
        usable = np.array([label not in u for u in unknown])
        out_of_fold = np.zeros(len(y))
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        for train_rows, test_rows in splitter.split(np.zeros(len(y)), y):
            coef, intercept = fit(train_rows[usable[train_rows]], y)
            out_of_fold[test_rows] = np.asarray(x[test_rows] @ coef).ravel() + intercept
        coef, intercept = fit(np.flatnonzero(usable), y)
        held = np.asarray(x_held @ coef).ravel() + intercept
        # Town examples of other kinds: the file's own, not the corpora's offensive ones.
        town_other = town & ~y & np.array([not u for u in unknown]) & np.array(
            [i >= len(examples) or examples[i].label != "offensive" for i in range(len(y))])
        others = out_of_fold[town_other]
        # The shift that keeps each kind of false alarm under its target.
        cuts = [float(np.quantile(values, 1.0 - target)) for values, target in
                ((held, TARGET_FALSE_ALARMS), (others, TARGET_TOWN_FALSE_ALARMS)) if len(values)]
        cut = max(cuts, default=0.0)
        shift = min(0.0, -cut)
        # Stored as float16 (half the file, no measurable change in scores).
        rows.append(coef.astype(np.float16).astype(np.float32))
        intercepts.append(intercept + shift)
        report[label] = {
            "examples": int(y.sum()),
            "intercept_shift": round(shift, 4),
            "held_out_false_alarms": round(float(np.mean(held + shift >= 0)), 4)
            if len(held) else None,
            "out_of_fold_recall": round(float(np.mean(out_of_fold[y] + shift >= 0)), 4),
            "out_of_fold_town_false_alarms": round(float(np.mean(others + shift >= 0)), 4),
        }
    report["ordinary_texts"] = {"negatives": len(negatives), "held_out": len(held_out)}
    report["examples"] = len(examples)
    report["offensive_corpus_examples"] = sum(e.label == "offensive" for e in examples)
    report["seed"] = seed
    report["folds"] = folds
    report["settings"] = settings.to_json()
    if not all(math.isfinite(v) for v in intercepts):
        raise ValueError("training diverged")
    return SignalModel(settings=settings, labels=labels, coef=np.vstack(rows),
                       intercepts=np.array(intercepts), report=report)
