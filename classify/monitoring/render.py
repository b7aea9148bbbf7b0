"""A :class:`~classify.monitoring.stats.DriftReport` as text for people."""

from __future__ import annotations

from classify.monitoring.stats import DriftReport


def _p(value: float | None) -> str:
    return "n/a (too few headlines)" if value is None else f"{value:.3g}"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def render_text(report: DriftReport) -> str:
    """The report as aligned lines: the verdict first, then the figures behind it."""
    ref, cur = report.reference, report.current
    lines = [
        f"drift: {'true' if report.drift else 'false'}",
        *(f"  - {reason}" for reason in report.reasons),
        f"what to do: {report.advice}",
        "",
        f"reference: {report.reference_name} ({ref.n} headlines)",
        f"current:   {report.current_name} ({cur.n} headlines)",
        "",
        f"{'topic':<20} {'reference':>9} {'current':>9} {'change':>8}",
    ]
    cur_shares = cur.topic_shares
    for topic, share in ref.topic_shares.items():
        now = cur_shares.get(topic, 0.0)
        lines.append(f"{topic:<20} {share:>9.1%} {now:>9.1%} {now - share:>+8.1%}")
    t, c = report.topic_test, report.confidence_test
    lines += [
        f"topic mix: Jensen-Shannon distance {report.js_distance:.3f}, {t.name} p={_p(t.p_value)}",
        "",
        f"{'':<20} {'reference':>9} {'current':>9}",
        f"{'mean confidence':<20} {ref.mean_confidence:>9.3f} {cur.mean_confidence:>9.3f}",
        f"{'confidence < 0.5':<20} {ref.low_confidence:>9.1%} {cur.low_confidence:>9.1%}",
        f"{'unseen words':<20} {_pct(ref.oov_rate):>9} {_pct(cur.oov_rate):>9}",
        f"{'estimated accuracy':<20} {ref.estimated_accuracy:>9.1%} {cur.estimated_accuracy:>9.1%}",
        f"confidence: {c.name} p={_p(c.p_value)}",
    ]
    return "\n".join(lines)
