"""``python -m classify``: the same as the ``classify`` command."""

from classify.cli import main

main()
