"""The service's request and response bodies, and the errors it documents.

The result row is not written out here: it is generated from the one result schema
(:data:`classify.prediction.results.RESULT_FIELDS`), so that the service, the writers and the page
cannot disagree about it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from classify.prediction.results import RESULT_FIELDS


class ClassifyRequest(BaseModel):
    """Headlines to classify: a list, or a ticker blob / scraped page to split into headlines."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [
                {"headlines": ["Central bank raises interest rates by two points"], "top_k": 2},
                {"text": "Coach sacked after defeat | Oil prices climb on supply worries", "explain": True},
            ]
        },
    )

    headlines: list[str] | None = Field(None, description="Headlines, one per item, answered in this order.")
    text: str | None = Field(
        None, description="A ticker blob (lines split into headlines) or, with from_page, a scraped page."
    )
    split: bool = Field(
        True, description="Split ticker lines of `text` into headlines (false: one per line)."
    )
    split_pattern: str | None = Field(
        None, description="Separator regular expression for ticker lines (default: the CLI's separators)."
    )
    from_page: bool = Field(False, description="`text` is a scraped news page: keep only its headlines.")
    top_k: int = Field(1, ge=1, le=100, description="Also give the K most likely topics, as `topics`.")
    min_confidence: float | None = Field(
        None, ge=0.0, le=1.0, description="Below this probability the topic is `uncertain_label`."
    )
    uncertain_label: str = Field("uncertain", min_length=1, max_length=100)
    explain: bool = Field(False, description="Add `why`: the words that pushed each headline to its topic.")
    coverage: float | None = Field(
        None,
        gt=0.0,
        lt=1.0,
        description="Add `set`: the topics that hold the true one with this probability (e.g. 0.9).",
    )
    per_topic_coverage: bool = Field(False, description="With `coverage`: hold it for every topic alone.")

    @model_validator(mode="after")
    def _one_input(self) -> ClassifyRequest:
        if (self.headlines is None) == (self.text is None):
            raise ValueError(
                "give either 'headlines' (a list of strings) or 'text' (a ticker or page), not both"
            )
        return self


class ModelRef(BaseModel):
    id: str = Field(description="First 16 hex digits of the model file's SHA-256.")
    topics: list[str]


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
