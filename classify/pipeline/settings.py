"""The pipeline's settings: one frozen object with the defaults, the checks, JSON and a description.

Every part that speaks of pipeline settings goes through :class:`Settings`: :func:`classify.pipeline.model.
build_pipeline` builds from it, ``classify tune`` searches its fields and writes them with
:func:`save_settings_file`, ``classify train --config`` reads them back with :func:`load_settings_file`,
and the model's metadata records :meth:`Settings.to_dict`. A new setting is a new field here (with
its check in :func:`check_setting`) and its use in ``build_pipeline``; nothing else spells them out.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from classify.errors import ConfigError

#: The linear classifiers the pipeline can end in.
CLASSIFIERS = ("svm", "logreg", "stack")

#: The linear views :class:`classify.pipeline.stacking.StackedLinear` can blend (defined here, where settings
#: are checked, so that checking them needs no scikit-learn).
VIEWS = ("svm", "nbsvm", "mnb", "emb")


def parse_views(views: str | Sequence[str]) -> tuple[str, ...]:
    """Views as a tuple, from ``"svm+nbsvm+mnb"`` or a sequence of names.

    Raises
    ------
    ValueError
        Naming the unknown or repeated view, or if there is none.
    """
    names = tuple(v.strip() for v in views.split("+")) if isinstance(views, str) else tuple(views)
    unknown = [v for v in names if v not in VIEWS]
    if unknown:
        raise ValueError(f"unknown view(s) {', '.join(map(repr, unknown))}: choose from {', '.join(VIEWS)}")
    if not names or len(set(names)) != len(names):
        raise ValueError(f"views {views!r}: give each of {', '.join(VIEWS)} at most once, at least one")
    return names


#: The longest n-gram a setting may ask for, of words or of characters: headlines have a few dozen
#: words, and each extra n multiplies the features (a file asking for a million-character n-gram
#: would take minutes and gigabytes per headline).
MAX_NGRAM = 10

#: Written into settings files, so that a later format can be told apart.
CONFIG_FORMAT = "classify-tune"
#: Top-level keys of a settings file; anything else is a typo or a newer format, and is refused.
CONFIG_KEYS = frozenset(
    {
        "format",
        "params",
        "macro_f1",
        "macro_f1_std",
        "train_rows",
        "folds",
        "grouped",
        "split",
        "data_hash",
        "source",
        "created",
        "seconds",
        "candidates",
    }
)


@dataclass(frozen=True)
class Settings:
    """Settings of the TF-IDF + linear classifier pipeline, checked when made.

    The defaults are the default pipeline. Word 1-2-grams plus character 2-5-grams (inside word
    bounds) beat word features alone by 1-2.5 macro-F1 points on every real headline set tried here:
    character n-grams catch inflections, names and typos that short headlines depend on.

    Attributes
    ----------
    word_ngrams
        Smallest and largest word n-gram.
    char_ngrams
        Smallest and largest character n-gram inside word bounds, or ``None`` for no character block.
    min_df
        Drop features found in fewer documents (an int) or a smaller share of them (a float).
    sublinear_tf
        ``1 + log(count)`` instead of the raw count.
    char_weight
        Factor on the (normalised) character block against the word block.
    classifier
        ``svm`` (LinearSVC with temperature-scaled probabilities), ``logreg``, or ``stack`` (the
        linear views named by ``views`` blended per data set, see :mod:`classify.pipeline.stacking`).
    C
        Inverse regularisation strength (``logreg`` uses 20x this, which puts its optimum near the
        SVM's on headline data).
    views
        The views ``stack`` blends, joined by ``+`` (from ``svm``, ``nbsvm``, ``mnb``, ``emb``); ignored
        by the other classifiers. ``emb``: static word vectors distilled from MiniLM (see
        :mod:`classify.pipeline.embeddings`).
    blend_bias
        Whether ``stack``'s blend learns one bias per topic besides the view weights. Without them
        the blend keeps the topic priors the balanced views set, which helps unbalanced sets with
        many topics (``bench/results/accuracy.md``). Ignored by the other classifiers.
    word_vectors
        ``svm`` and ``logreg`` only (the stack has its ``emb`` view instead): if positive, static word
        vectors distilled from MiniLM (:mod:`classify.pipeline.embeddings`), each headline's TF-IDF-weighted
        sum of its words' vectors, are fitted as extra columns scaled to a norm of about this value,
        then folded back into the word weights, so the model stays one linear model over the same
        features and predicts at the same cost. ``0``: none. The default, 0.35, puts the pipeline at
        or above all-MiniLM-L6-v2 + logistic regression on the sets of ``bench.compare``
        (``bench/results/accuracy.md``).
    """

    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] | None = (2, 5)
    min_df: float = 1
    sublinear_tf: bool = True
    char_weight: float = 1.0
    classifier: str = "svm"
    C: float = 0.5
    views: str = "svm+nbsvm+mnb"
    blend_bias: bool = True
    word_vectors: float = 0.35

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            try:
                checked = check_setting(field.name, value)
            except ValueError as exc:
                raise ValueError(f"{field.name}={value!r}: expected {exc}") from None
            object.__setattr__(self, field.name, checked)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The setting names, in their documented order."""
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def from_mapping(
        cls, params: Mapping[str, Any] | None = None, *, base: Settings | None = None
    ) -> Settings:
        """Settings from a partial mapping of overrides (JSON lists are taken as tuples).

        Raises
        ------
        ValueError
            Naming the unknown setting(s), or the setting whose value is wrong.
        """
        params = dict(params or {})
        unknown = sorted(set(params) - set(cls.names()))
        if unknown:
            raise ValueError(
                f"unknown pipeline setting(s): {', '.join(unknown)} (known: {', '.join(cls.names())})"
            )
        return dataclasses.replace(base or cls(), **params)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (tuples as lists), for settings files and model metadata."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.as_params().items()}

    def as_params(self) -> dict[str, Any]:
        """The settings as keyword arguments (tuples kept), e.g. for a scikit-learn estimator."""
        return {name: getattr(self, name) for name in self.names()}

    def vectorizer_params(self) -> dict[str, Any]:
        """The settings that :class:`classify.pipeline.features.HeadlineVectorizer` takes."""
        return {
            "word_ngrams": self.word_ngrams,
            "char_ngrams": self.char_ngrams,
            "min_df": self.min_df,
            "sublinear_tf": self.sublinear_tf,
            "char_weight": self.char_weight,
        }

    def tidy(self) -> Settings:
        """Round C to 3 significant figures and drop a meaningless character weight.

        A readable settings file (finer steps of C do not matter), and no two searched settings that
        differ only where it makes no difference.
        """
        char_weight = self.char_weight if self.char_ngrams else Settings.char_weight
        stack = self.classifier == "stack"  # only the stack blends
        views = self.views if stack else Settings.views
        blend_bias = self.blend_bias if stack else Settings.blend_bias
        word_vectors = 0.0 if stack else self.word_vectors  # the stack's vectors are its emb view
        return dataclasses.replace(
            self,
            C=float(f"{self.C:.3g}"),
            char_weight=char_weight,
            views=views,
            blend_bias=blend_bias,
            word_vectors=word_vectors,
        )

    def key(self) -> str:
        """A canonical string of the settings, to tell identical settings apart from similar ones."""
        return json.dumps(self.to_dict(), sort_keys=True)

    def describe(self) -> str:
        """The settings in a short line: ``svm C=0.5 word 1-2 char 2-5 char_weight=1 min_df=1 sublinear``."""
        word = "-".join(str(n) for n in self.word_ngrams)
        char = "-".join(str(n) for n in self.char_ngrams) if self.char_ngrams else "none"
        parts = [f"{self.classifier} C={self.C:g}", f"word {word}", f"char {char}"]
        if self.classifier == "stack":
            parts.insert(1, self.views if self.blend_bias else f"{self.views} no-bias")
        if self.char_ngrams:
            parts.append(f"char_weight={self.char_weight:g}")
        parts += [f"min_df={self.min_df:g}", "sublinear" if self.sublinear_tf else "raw tf"]
        if self.word_vectors and self.classifier != "stack":
            parts.append(f"word_vectors={self.word_vectors:g}")
        return " ".join(parts)


def check_setting(name: str, value: Any) -> Any:
    """One setting, converted to the type the pipeline takes.

    The single place where the settings are checked: :class:`Settings`, settings files and
    :class:`classify.pipeline.features.HeadlineVectorizer` (which scikit-learn tools may build directly) all
    call it.

    Raises
    ------
    ValueError
        Saying what was expected (the caller names the setting and where it came from).
    """
    if name in ("word_ngrams", "char_ngrams"):
        if value is None and name == "char_ngrams":
            return None
        if (
            isinstance(value, list | tuple)
            and len(value) == 2
            and all(isinstance(n, int) and not isinstance(n, bool) for n in value)
            and 1 <= value[0] <= value[1] <= MAX_NGRAM
        ):
            return (int(value[0]), int(value[1]))
        raise ValueError(
            f"(smallest, largest) with 1 <= smallest <= largest <= {MAX_NGRAM}"
            + (" or None" if name == "char_ngrams" else "")
        )
    if name == "min_df":
        if (isinstance(value, int) and not isinstance(value, bool) and value >= 1) or (
            isinstance(value, float) and 0 < value <= 1
        ):
            return value
        raise ValueError("a count >= 1 or a share in (0, 1]")
    if name in ("sublinear_tf", "blend_bias"):
        if isinstance(value, bool):
            return value
        raise ValueError("true or false")
    if name == "classifier":
        if value in CLASSIFIERS:
            return value
        raise ValueError(" or ".join(f'"{c}"' for c in CLASSIFIERS))
    if name == "views":
        try:
            return "+".join(parse_views(value)) if isinstance(value, str) else parse_views("")
        except ValueError as exc:
            raise ValueError(f"views joined by '+', such as \"svm+nbsvm+mnb\" ({exc})") from None
    if name == "word_vectors":
        if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
            return float(value)
        raise ValueError("a number >= 0 (0: no word vectors)")
    if name in ("C", "char_weight"):
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            return float(value)
        raise ValueError("a positive number")
    raise ValueError(f"a known setting ({', '.join(Settings.names())})")


#: The steps' own parameters that are not settings (a model file holds them too), with their bounds:
#: the widest hashed block streaming training makes, and a token cache of at most 10 million tokens.
STEP_PARAM_RANGES = {
    "cache_size": (1, 10_000_000),
    "word_bits": (8, 24),
    "char_bits": (8, 24),
    "random_state": (0, 2**32 - 1),
}


def check_step_param(name: str, value: Any) -> Any:
    """A pipeline step's parameter as a model file gives it: a setting (:func:`check_setting`), the
    classifier's ``loss`` (a setting's ``classifier``) or one of :data:`STEP_PARAM_RANGES`.

    Loading checks what a file declares as training checks what it is asked, so that a model that
    loads can predict.

    Raises
    ------
    ValueError
        Saying what was expected.
    """
    if name == "loss":
        return check_setting("classifier", value)
    if name in STEP_PARAM_RANGES:
        low, high = STEP_PARAM_RANGES[name]
        if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
            return value
        raise ValueError(f"a whole number from {low} to {high}")
    return check_setting(name, value)


#: The default settings, as a read-only mapping (for callers that want plain keyword arguments).
DEFAULT_SETTINGS = Settings()
DEFAULT_PARAMS: Mapping[str, Any] = MappingProxyType(DEFAULT_SETTINGS.as_params())


@dataclass(frozen=True)
class SettingsFile:
    """Settings read from a file written by ``classify tune``.

    Attributes
    ----------
    params
        The settings the file holds (a subset of :class:`Settings` fields; the rest keep their
        defaults), converted to the types the pipeline takes.
    data_hash
        Fingerprint of the data they were tuned on, if recorded.
    macro_f1
        The score they reached, if recorded.
    """

    params: dict[str, Any]
    data_hash: str | None = None
    macro_f1: float | None = None

    @property
    def settings(self) -> Settings:
        """The full settings: the file's, and the defaults for the rest."""
        return Settings.from_mapping(self.params)


def save_settings_file(record: Mapping[str, Any], path: Path) -> Path:
    """Write a settings record (``{"format": ..., "params": {...}, ...}``) as JSON, atomically."""
    from classify.atomic import write_text_atomic

    path = Path(path)
    try:
        write_text_atomic(path, json.dumps(dict(record), indent=2) + "\n")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write settings ({exc.strerror or exc})") from None
    return path


def load_settings_file(path: Path) -> SettingsFile:
    """Read and check a settings file, so that a typo fails here and not deep inside training.

    Raises
    ------
    ConfigError
        Missing or unreadable file, bad JSON, unknown keys, or a setting of the wrong type or range;
        the message names the file.
    """
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such settings file; write one with 'classify tune DATA -o {path}'"
        ) from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, not a settings file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read settings ({getattr(exc, 'strerror', None) or exc})") from None
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise ConfigError(f"{path}: not valid JSON ({exc.msg} at {where})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("params"), dict):
        raise ConfigError(f'{path}: expected a JSON object with a "params" object, as classify tune writes')
    names = Settings.names()
    extra = sorted(set(raw) - CONFIG_KEYS)
    if extra:
        raise ConfigError(
            f'{path}: unknown key(s) {", ".join(extra)}; settings go under "params" '
            f"(keys: {', '.join(names)})"
        )
    params = raw["params"]
    unknown = sorted(set(params) - set(names))
    if unknown:
        raise ConfigError(
            f"{path}: unknown setting(s) {', '.join(unknown)} in params (known: {', '.join(names)})"
        )
    checked = {}
    for key, value in params.items():
        try:
            checked[key] = check_setting(key, value)
        except ValueError as exc:
            raise ConfigError(f"{path}: params.{key} is {json.dumps(value)}; expected {exc}") from None
    score = raw.get("macro_f1")
    return SettingsFile(
        params=checked,
        data_hash=raw.get("data_hash") if isinstance(raw.get("data_hash"), str) else None,
        macro_f1=float(score) if isinstance(score, int | float) and not isinstance(score, bool) else None,
    )
