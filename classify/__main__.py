"""``python -m classify``: the same as the ``classify`` command."""

from classify.cli import main

# The guard matters: Dask's worker processes re-import the main module when they start.
if __name__ == "__main__":
    main()
