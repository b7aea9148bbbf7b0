"""Train a model from a labelled CSV with the default settings.

    python train.py data.csv -o models/site.joblib

The same as ``classify train``; kept as a script for people who prefer ``python train.py``.
"""

import sys

from classify.cli import app

if __name__ == "__main__":
    app(["train", *sys.argv[1:]], prog_name="train.py")
