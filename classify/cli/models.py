"""``classify topics`` and ``classify convert``: what a model holds, and a model file rewritten."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from classify.cli._common import AllowPickle, ModelOpt, handle_errors, load_model, say


@handle_errors
def topics_cli(model_path: ModelOpt = None, allow_pickle: AllowPickle = False) -> None:
    """List a model's topics with their descriptions (where known) and training counts."""
    from classify.topics import default_topics

    model = load_model(model_path, allow_pickle)
    described = {t.name: t for t in default_topics()}
    counts = model.meta.get("counts", {})
    width = max(len(t) for t in model.topics)
    for topic in model.topics:
        known = described.get(topic)
        text = f"{known.description} [IPTC {known.iptc}]" if known else ""
        say(f"{topic:<{width}}  {counts.get(topic, 0):>6}  {text}".rstrip())


@handle_errors
def convert_cli(
    source: Annotated[
        Path, typer.Argument(metavar="SOURCE", help="A model file of an older classify.", show_default=False)
    ],
    target: Annotated[
        Path,
        typer.Argument(metavar="TARGET", help="Where to write it in today's format.", show_default=False),
    ],
    allow_pickle: AllowPickle = False,
) -> None:
    """Rewrite a model file in today's format (arrays and JSON, which cannot run code when loaded)."""
    from classify.atomic import refuse_input_as_output
    from classify.pipeline.model import save_model

    refuse_input_as_output(target, [source], what="converted model")
    model = load_model(source, allow_pickle)
    save_model(model, target)
    say(f"converted {source} -> {target} ({len(model.topics)} topics)")
