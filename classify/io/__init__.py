"""Input: file formats, the readers of labelled data and of headlines to classify, chunks for
streaming, tickers and pages, and the default model's lexicon.

The public names are re-exported here and imported on first use, so that importing the subpackage
imports nothing heavy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from classify.lazy import exports

#: Public name -> the module of this subpackage that defines it.
_EXPORTS = {
    "EXTENSIONS": "formats",
    "ALL_EXTENSIONS": "formats",
    "TEXT_COLUMNS": "formats",
    "LABEL_COLUMNS": "formats",
    "format_of": "formats",
    "stream_format": "formats",
    "find_column": "formats",
    "LabelledData": "labelled",
    "load_labelled": "labelled",
    "check_trainable": "labelled",
    "file_sha256": "labelled",
    "Record": "records",
    "iter_records": "records",
    "InputReport": "reading",
    "MAX_TEXT_CHARS": "reading",
    "Chunk": "chunks",
    "ReadStats": "chunks",
    "iter_chunks": "chunks",
    "split_ticker": "ticker",
    "extract_from_page": "ticker",
    "DEFAULT_SEPARATOR": "ticker",
    "read_lexicon": "lexicon",
    "lexicon_rows": "lexicon",
}

if TYPE_CHECKING:
    from classify.io.chunks import Chunk, ReadStats, iter_chunks
    from classify.io.formats import (
        ALL_EXTENSIONS,
        EXTENSIONS,
        LABEL_COLUMNS,
        TEXT_COLUMNS,
        find_column,
        format_of,
        stream_format,
    )
    from classify.io.labelled import LabelledData, check_trainable, file_sha256, load_labelled
    from classify.io.lexicon import lexicon_rows, read_lexicon
    from classify.io.reading import MAX_TEXT_CHARS, InputReport
    from classify.io.records import Record, iter_records
    from classify.io.ticker import DEFAULT_SEPARATOR, extract_from_page, split_ticker

__all__ = [
    "ALL_EXTENSIONS",
    "DEFAULT_SEPARATOR",
    "EXTENSIONS",
    "LABEL_COLUMNS",
    "MAX_TEXT_CHARS",
    "TEXT_COLUMNS",
    "Chunk",
    "InputReport",
    "LabelledData",
    "ReadStats",
    "Record",
    "check_trainable",
    "extract_from_page",
    "file_sha256",
    "find_column",
    "format_of",
    "iter_chunks",
    "iter_records",
    "lexicon_rows",
    "load_labelled",
    "read_lexicon",
    "split_ticker",
    "stream_format",
]

__getattr__ = exports(__name__, _EXPORTS)
