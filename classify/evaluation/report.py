"""An evaluation report folder: metrics.json, report.md, confusion.png and calibration.png.

:func:`build_report` does the work (cross-validation, two baselines on the same folds, a model fitted
on all rows for its heaviest n-grams) and returns a :class:`Report`; :func:`write_report` turns it into
files. Every file is rendered in memory first and then written through a temporary file and a rename,
so a failure (a missing matplotlib, a full disk) never leaves a half-written report over a good one.
Nothing here prints. One module past the usual few hundred lines because the report's parts (what is
gathered, the Markdown, the two figures) change together whenever the report does.
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from classify.errors import ReportError
from classify.evaluation.evaluate import (
    CrossValidation,
    Evaluation,
    OutOfFoldRow,
    predict_splits,
    score_splits,
)
from classify.io.labelled import LabelledData
from classify.paths import install_hint
from classify.pipeline.model import fit_pipeline, linear_weights, versions

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.figure import Figure
    from sklearn.pipeline import Pipeline

REPORT_FILES = ("metrics.json", "report.md", "confusion.png", "calibration.png")
#: Confidence bins of the reliability diagram and the expected calibration error.
CALIBRATION_BINS = 10
MOST_MISTAKES = 20
MOST_FEATURES = 10
MOST_CONFUSED = 10


def require_matplotlib() -> None:
    """Raise :class:`ReportError` with the install command unless matplotlib can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ReportError(
            "{report} draws figures with matplotlib, which is not installed; "
            f"run: {install_hint('report')}",
            arguments=("report",),
        ) from None


@dataclass(frozen=True)
class Report:
    """Everything a report folder shows.

    Attributes
    ----------
    evaluation
        The model's scores, with how the rows were split.
    baselines
        Scores of simple models on the same splits, so the model's figures have a floor to stand on.
    mistakes
        The most confident wrong predictions, most confident first.
    top_features
        Per topic, the n-grams with the largest weights in a model fitted on all rows.
    confidence, correct
        Top-1 probability and whether the prediction was right, per tested row (for calibration).
    ece
        Expected calibration error over :data:`CALIBRATION_BINS` equal-width bins.
    data_hash, source, rows, versions, created
        Provenance: which data, how much, with which library versions, when.
    """

    evaluation: Evaluation
    baselines: dict[str, Evaluation]
    mistakes: list[OutOfFoldRow]
    top_features: dict[str, list[tuple[str, float]]]
    confidence: list[float]
    correct: list[bool]
    ece: float
    data_hash: str
    source: str
    rows: int
    versions: dict[str, str]
    created: str

    def metrics(self) -> dict[str, Any]:
        """The ``metrics.json`` object: the ``--format json`` report plus baselines and provenance."""
        return {
            **self.evaluation.to_dict(),
            "baselines": {
                name: {"accuracy": b.accuracy, "macro_f1": b.macro_f1, "weighted_f1": b.weighted_f1}
                for name, b in self.baselines.items()
            },
            "calibration": {"ece": self.ece, "bins": CALIBRATION_BINS},
            "data_hash": self.data_hash,
            "data": {"source": self.source, "rows": self.rows},
            "versions": self.versions,
            "created": self.created,
        }


#: The baselines: what any topic model must beat to be worth its features.
BASELINES = {
    "majority class": "always the most common training topic",
    "naive Bayes (word unigrams)": "multinomial naive Bayes on word counts",
}


def _fit_baseline(name: str, texts: Sequence[str], labels: Sequence[str]) -> Any:
    from sklearn.dummy import DummyClassifier
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.naive_bayes import MultinomialNB
    from sklearn.pipeline import make_pipeline

    if name == "majority class":
        estimator: Any = make_pipeline(CountVectorizer(), DummyClassifier(strategy="most_frequent"))
    else:
        estimator = make_pipeline(CountVectorizer(), MultinomialNB())
    return estimator.fit(list(texts), list(labels))


def build_report(
    data: LabelledData, run: CrossValidation, *, params: Mapping[str, Any] | None = None
) -> Report:
    """Gather what the report shows, around a cross-validation run of the pipeline on ``data``.

        Parameters
        ----------
        data
            Labelled headlines.
        run
    :func:`classify.evaluation.evaluate.cross_validate` of ``data``: its splits are reused for the
            baselines, its out-of-fold predictions give the mistakes and the calibration.
        params
            The pipeline settings of ``run``, for the model fitted on all rows (top n-grams).
    """
    import numpy as np

    splits, oof, evaluation = run.splits, run.oof, run.evaluation
    mode = evaluation.mode
    baselines = {}
    for name in BASELINES:
        base_oof = predict_splits(data, splits, functools.partial(_fit_baseline, name))
        baselines[name] = score_splits(data, splits, base_oof, mode=mode)

    truth = np.asarray([data.labels[i] for i in oof.rows], dtype=object)
    predicted = np.asarray(oof.predicted, dtype=object)
    confidence = oof.proba.max(axis=1)
    correct = truth == predicted
    wrong = np.flatnonzero(~correct)
    # Most confident first; ties by row order so the list is the same every run.
    wrong = wrong[np.lexsort((wrong, -confidence[wrong]))][:MOST_MISTAKES]
    mistakes = [OutOfFoldRow.of(data, int(oof.rows[k]), oof.proba[k], oof.topics) for k in wrong]
    full = fit_pipeline(data.texts, data.labels, params)
    return Report(
        evaluation=evaluation,
        baselines=baselines,
        mistakes=mistakes,
        top_features=top_features(full),
        confidence=[float(c) for c in confidence],
        correct=[bool(c) for c in correct],
        ece=expected_calibration_error(confidence, correct),
        data_hash=data.fingerprint(),
        source=data.source,
        rows=len(data),
        versions=versions(),
        created=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    )


def expected_calibration_error(
    confidence: Sequence[float] | np.ndarray,
    correct: Sequence[bool] | np.ndarray,
    bins: int = CALIBRATION_BINS,
) -> float:
    """Mean gap between confidence and accuracy over equal-width confidence bins, weighted by rows.

    0 means "when the model says 80%, it is right 80% of the time" at every level of confidence.
    """
    import numpy as np

    conf = np.asarray(confidence, dtype=float)
    hit = np.asarray(correct, dtype=float)
    if not len(conf):
        return 0.0
    index = np.clip((conf * bins).astype(int), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = index == b
        if mask.any():
            total += abs(hit[mask].mean() - conf[mask].mean()) * mask.sum()
    return float(total / len(conf))


def top_features(pipeline: Pipeline, most: int = MOST_FEATURES) -> dict[str, list[tuple[str, float]]]:
    """Per topic, the ``most`` features with the largest positive weights in the linear classifier.

    Works with any feature step that has ``get_feature_names_out`` and any classifier with ``coef_``
    (directly, or inside ``CalibratedClassifierCV``); returns ``{}`` when either is missing, so a
    custom vectorizer without names costs the report one section, not the whole run.
    """
    import numpy as np

    try:
        names = np.asarray(pipeline.named_steps["features"].get_feature_names_out(), dtype=object)
    except (AttributeError, ValueError, NotImplementedError):
        return {}
    rows = linear_weights(pipeline)
    if rows is None or any(len(w) != len(names) for w in rows.values()):
        return {}
    out = {}
    for topic in sorted(rows):
        weights = rows[topic]
        best = np.argsort(-weights, kind="stable")[:most]
        out[topic] = [(str(names[i]), float(weights[i])) for i in best if weights[i] > 0]
    return out


# Rendering ------------------------------------------------------------------------------------
def render_files(report: Report) -> dict[str, bytes]:
    """All four report files, rendered in memory (name -> bytes)."""
    require_matplotlib()
    return {
        "metrics.json": (json.dumps(report.metrics(), indent=2, ensure_ascii=False) + "\n").encode("utf-8"),
        "report.md": report_markdown(report).encode("utf-8"),
        "confusion.png": _png(confusion_figure(report.evaluation)),
        "calibration.png": _png(calibration_figure(report.confidence, report.correct, report.ece)),
        **({"sets.png": _png(_sets_figure(report.evaluation))} if report.evaluation.set_curve else {}),
    }


def _sets_figure(evaluation: Evaluation) -> Figure:
    from classify.evaluation.sets import coverage_figure

    return coverage_figure(evaluation.set_curve or [], (evaluation.sets or {}).get("target_coverage"))


def write_report(report: Report, folder: Path) -> list[Path]:
    """Write the report files into ``folder`` (created if needed); returns their paths.

    Every file is rendered, then written into a temporary folder beside ``folder``, before the first
    replaces anything (:func:`classify.atomic.atomic_folder`): a failed render or a full disk leaves
    an existing report as it was, never metrics without their figures (other files in the folder
    stay).
    """
    from classify.atomic import atomic_folder

    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ReportError(
            f"{folder}: exists and is not a folder; pass another {{report}}", arguments=("report",)
        )
    files = render_files(report)
    try:
        with atomic_folder(folder) as tmp:
            for name, content in files.items():
                (tmp / name).write_bytes(content)
    except OSError as exc:
        raise ReportError(f"{folder}: cannot write the report ({exc.strerror or exc})") from None
    return [folder / name for name in files]


def _png(figure: Figure) -> bytes:
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg

    # A canvas of our own rather than pyplot: no global backend switch, no figure left open.
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


def confusion_figure(evaluation: Evaluation) -> Figure:
    """Row-normalised confusion matrix: each row shows where one true topic's headlines went."""
    import numpy as np
    from matplotlib.figure import Figure
    from sklearn.metrics import ConfusionMatrixDisplay

    labels = evaluation.labels
    matrix = np.asarray(evaluation.confusion, dtype=float)
    totals = matrix.sum(axis=1, keepdims=True)
    share = np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)
    n = len(labels)
    # About half an inch per topic keeps two-decimal cells and labels legible at 10-20 topics.
    side = max(5.0, 0.55 * n + 2.5)
    figure = Figure(figsize=(side + 1.2, side), layout="tight")
    ax = figure.add_subplot()
    display = ConfusionMatrixDisplay(confusion_matrix=share, display_labels=labels)
    display.plot(
        ax=ax,
        cmap="Blues",
        values_format=".2f",
        xticks_rotation=45,
        colorbar=True,
        text_kw={"fontsize": 9 if n <= 12 else 7},
        im_kw={"vmin": 0.0, "vmax": 1.0},
    )
    for label in ax.get_xticklabels():
        label.set_horizontalalignment("right")
        label.set_rotation_mode("anchor")
    ax.set_xlabel("predicted topic")
    ax.set_ylabel("true topic")
    ax.set_title(f"Confusion matrix, row-normalised ({evaluation.n} rows, {_how(evaluation)})")
    return figure


def calibration_figure(confidence: Sequence[float], correct: Sequence[bool], ece: float) -> Figure:
    """Reliability diagram of the top-1 confidence against accuracy, with a histogram of confidence."""
    import numpy as np
    from matplotlib.figure import Figure
    from sklearn.calibration import CalibrationDisplay

    conf = np.asarray(confidence, dtype=float)
    hit = np.asarray(correct, dtype=int)
    figure = Figure(figsize=(6.5, 7.5), layout="tight")
    top, bottom = figure.subplots(2, 1, height_ratios=[3, 1], sharex=True)
    if len(set(hit.tolist())) == 2:
        CalibrationDisplay.from_predictions(
            hit, conf, n_bins=CALIBRATION_BINS, strategy="uniform", pos_label=1, ax=top, name="model"
        )
    else:
        # All right or all wrong: calibration_curve needs both outcomes, so draw the one point plainly.
        top.plot([0, 1], [0, 1], "k:", label="Perfectly calibrated")
        top.plot([conf.mean()], [hit.mean()], "s-", label="model")
        top.legend(loc="upper left")
    top.set_xlim(0, 1)
    top.set_ylim(0, 1)
    top.set_xlabel("")
    top.set_ylabel("accuracy (share of top-1 predictions that were right)")
    top.set_title(f"Reliability of the top-1 confidence (ECE {ece:.3f}, {len(conf)} rows)")
    bottom.hist(conf, bins=CALIBRATION_BINS, range=(0, 1), color="tab:blue", edgecolor="white")
    bottom.set_xlabel("top-1 confidence")
    bottom.set_ylabel("rows")
    return figure


def _how(evaluation: Evaluation) -> str:
    if evaluation.split == "date":
        return "newest rows, date split"
    return f"{evaluation.folds} folds, {evaluation.split or evaluation.mode}"


def _cell(text: object) -> str:
    """Make text safe inside a Markdown table cell."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _feature(name: str) -> str:
    """``word__central bank`` -> ``central bank (word)``; spaces shown, since char n-grams have them."""
    kind, sep, gram = name.partition("__")
    if not sep:
        kind, gram = "", name
    shown = f'"{gram}"' if gram != gram.strip() else gram
    return _cell(f"{shown} ({kind})" if kind else shown)


def report_markdown(report: Report) -> str:
    """The ``report.md`` text."""
    from classify.evaluation.render import split_lines

    ev = report.evaluation
    out = [f"# Evaluation of the topic classifier on {_cell(report.source)}", ""]
    out.append(f"- {ev.mode}: {ev.n} rows scored of {report.rows}")
    out.extend(f"- {line}" for line in split_lines(ev))
    out.append(f"- data hash (SHA-256 of headline and topic pairs): `{report.data_hash}`")
    out.append("- versions: " + ", ".join(f"{k} {v}" for k, v in report.versions.items()))
    out.append(f"- created: {report.created}")
    out += ["", "## Scores", "", "Baselines are trained and tested on exactly the same splits.", ""]
    out.append("| model | accuracy | macro-F1 | weighted-F1 |")
    out.append("|---|---:|---:|---:|")
    for name, e in [("classify pipeline", ev), *report.baselines.items()]:
        out.append(f"| {name} | {e.accuracy:.3f} | {e.macro_f1:.3f} | {e.weighted_f1:.3f} |")
    out += [
        "",
        "## Per topic",
        "",
        "| topic | precision | recall | F1 | support |",
        "|---|---:|---:|---:|---:|",
    ]
    for topic, s in ev.per_topic.items():
        out.append(
            f"| {_cell(topic)} | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} | {s['support']} |"
        )
    for name, avg in (("macro average", ev.averages["macro"]), ("weighted average", ev.averages["weighted"])):
        out.append(
            f"| **{name}** | {avg['precision']:.3f} | {avg['recall']:.3f} | {avg['f1']:.3f} | {ev.n} |"
        )
    out += ["", "![Row-normalised confusion matrix](confusion.png)", ""]
    out += ["## Topics most confused with each other", ""]
    pairs = confused_pairs(ev, MOST_CONFUSED)
    if pairs:
        out += ["| topics | rows | a -> b | b -> a |", "|---|---:|---:|---:|"]
        out += [f"| {_cell(a)} / {_cell(b)} | {ab + ba} | {ab} | {ba} |" for a, b, ab, ba in pairs]
    else:
        out.append("No confusions.")
    out += ["", f"## The {MOST_MISTAKES} most confident mistakes", ""]
    if report.mistakes:
        out += ["| headline | true | predicted | probability |", "|---|---|---|---:|"]
        out += [
            f"| {_cell(m.headline)} | {_cell(m.label)} | {_cell(m.suggested)} | {m.p_suggested:.3f} |"
            for m in report.mistakes
        ]
    else:
        out.append("No mistakes.")
    out += ["", "## Calibration", ""]
    out.append(
        f"Expected calibration error of the top-1 confidence: **{report.ece:.3f}** "
        f"({CALIBRATION_BINS} equal-width bins; 0 is perfect)."
    )
    out += ["", "![Reliability diagram](calibration.png)", ""]
    if ev.set_curve:
        from classify.evaluation.render import sets_lines

        out += ["## Prediction sets and labels", "", *(f"    {line}" for line in sets_lines(ev) if line)]
        out += ["", "![Coverage against mean set size](sets.png)", ""]
    out += ["## Heaviest n-grams per topic", ""]
    if report.top_features:
        out.append("Largest positive weights of the linear classifier fitted on all rows.")
        out += ["", "| topic | n-grams |", "|---|---|"]
        for topic, feats in report.top_features.items():
            out.append(f"| {_cell(topic)} | " + ", ".join(_feature(f) for f, _ in feats) + " |")
    else:
        out.append("Not available: the feature step has no feature names or the classifier no weights.")
    return "\n".join(out) + "\n"


def confused_pairs(evaluation: Evaluation, most: int) -> list[tuple[str, str, int, int]]:
    """Topic pairs with the most confusions in either direction: ``(a, b, a->b, b->a)``."""
    m, labels = evaluation.confusion, evaluation.labels
    pairs = [
        (labels[i], labels[j], m[i][j], m[j][i])
        for i in range(len(labels))
        for j in range(i + 1, len(labels))
        if m[i][j] + m[j][i]
    ]
    return sorted(pairs, key=lambda p: (-(p[2] + p[3]), p[0], p[1]))[:most]
