"""The service's request and response bodies, and the errors it documents.

The result row is not written out here: it is generated from the one result schema
(:data:`classify.prediction.results.RESULT_FIELDS`), so that the service, the writers and the page
cannot disagree about it.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, create_model, model_validator

from classify.prediction.results import RESULT_FIELDS

_SURROGATE = re.compile("[\ud800-\udfff]")


def _whole_number(value: Any) -> Any:
    """JSON Schema's integer includes ``2.0``; strict pydantic would refuse it (strings stay refused)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _not_null(schema: dict[str, Any], items: dict[str, Any] | None = None) -> None:
    """Drop ``null`` from a field's schema (in place); ``items`` replaces an array's item schema."""
    kinds = [k for k in schema.pop("anyOf", []) if k.get("type") != "null"]
    for kind in kinds:
        schema.update(kind)
    schema.pop("default", None)
    if items is not None:
        schema["items"] = items


#: A string holding something besides white space (Python's, as ``str.split`` knows it, written out
#: because JSON Schema's ``\s`` is ECMAScript's, which differs): what a headline must be.
NOT_BLANK = "[^\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"


class ClassifyRequest(BaseModel):
    """Headlines to classify: a list, or a ticker blob / scraped page to split into headlines."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [
                {"headlines": ["Central bank raises interest rates by two points"], "top_k": 2},
                {"text": "Coach sacked after defeat | Oil prices climb on supply worries", "explain": True},
            ],
            # The contract the validator below enforces: exactly one of the two inputs.
            "oneOf": [{"required": ["headlines"]}, {"required": ["text"]}],
        },
    )

    # Absent means None; an explicit null is refused, so the schema does not allow null.
    headlines: list[str] | None = Field(
        None,
        description="Headlines, one per item, answered in this order; none may be blank.",
        json_schema_extra=lambda schema: _not_null(schema, {"type": "string", "pattern": NOT_BLANK}),
    )
    text: str | None = Field(
        None,
        description="A ticker blob (lines split into headlines) or, with from_page, a scraped page.",
        json_schema_extra=lambda schema: _not_null(schema),
    )
    split: bool = Field(
        True, description="Split ticker lines of `text` into headlines (false: one per line)."
    )
    split_pattern: str | None = Field(
        None,
        description=(
            "Separator regular expression for ticker lines (default: the CLI's separators). It must "
            "compile, must not match the empty string, and runs with a time limit: else 422."
        ),
        json_schema_extra={"format": "regex"},
    )
    from_page: bool = Field(False, description="`text` is a scraped news page: keep only its headlines.")
    top_k: Annotated[int, BeforeValidator(_whole_number)] = Field(
        1, ge=1, le=100, description="Also give the K most likely topics, as `topics`."
    )
    min_confidence: float | None = Field(
        None, ge=0.0, le=1.0, description="Below this probability the topic is `uncertain_label`."
    )
    uncertain_label: str = Field("uncertain", min_length=1, max_length=100)
    explain: bool = Field(False, description="Add `why`: the words that pushed each headline to its topic.")
    model_topics: bool = Field(
        True,
        description="Repeat the model's topics in the answer's `model` (false: its id only; a client "
        "that sends many requests gets the topics once from GET /v1/topics).",
    )
    coverage: float | None = Field(
        None,
        gt=0.0,
        lt=1.0,
        description="Add `set`: the topics that hold the true one with this probability (e.g. 0.9).",
    )
    per_topic_coverage: bool = Field(False, description="With `coverage`: hold it for every topic alone.")

    @model_validator(mode="after")
    def _no_lone_surrogates(self) -> ClassifyRequest:
        # A JSON escape such as "\ud800" decodes to a lone surrogate, which cannot be written back as
        # UTF-8: in headlines it becomes U+FFFD, as classify predict writes it; in the label or the
        # pattern, which the answer repeats or runs, it is refused.
        for name in ("uncertain_label", "split_pattern"):
            value = getattr(self, name)
            if isinstance(value, str) and _SURROGATE.search(value):
                raise ValueError(f"'{name}' holds a lone surrogate (a JSON escape such as \\ud800)")
        if self.headlines is not None:
            self.headlines = [_SURROGATE.sub("\ufffd", h) for h in self.headlines]
        if self.text is not None:
            self.text = _SURROGATE.sub("\ufffd", self.text)
        return self

    @model_validator(mode="after")
    def _one_input(self) -> ClassifyRequest:
        for name in ("headlines", "text"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"'{name}' is null; leave it out, or give a value")
        if (self.headlines is None) == (self.text is None):
            raise ValueError(
                "give either 'headlines' (a list of strings) or 'text' (a ticker or page), not both"
            )
        return self


class ModelRef(BaseModel):
    id: str = Field(description="First 16 hex digits of the model file's SHA-256.")
    topics: list[str] | None = Field(
        None,
        description="The model's topics, unless model_topics is false (then left out).",
        json_schema_extra=lambda schema: _not_null(schema),
    )


def _result_model() -> type[BaseModel]:
    """The response row, generated from :data:`classify.prediction.results.RESULT_FIELDS`."""
    fields: dict[str, Any] = {"headline": (str, ...)}
    for f in RESULT_FIELDS:
        if f.when == "always":
            fields[f.name] = (f.python_type, Field(description=f.description))
        else:
            fields[f.name] = (
                f.python_type | None,
                Field(None, description=f"With {f.when}: {f.description}"),
            )
    return create_model("Result", **fields)


Result = _result_model()


class ClassifyResponse(BaseModel):
    model: ModelRef
    results: list[Result]  # type: ignore[valid-type]


class ErrorBody(BaseModel):
    error: str


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in {
        401: "Missing or wrong API key (when the service has one).",
        408: "The request body did not arrive in time.",
        413: "Body larger than --max-body, or more headlines than --max-batch.",
        422: "Malformed JSON, wrong types, unknown fields, or input that cannot be read.",
        503: "No model loaded yet, or the request ran past the time limit.",
    }.items()
}
