"""``python -m firewatch``, the same as the ``firewatch`` console script."""

from firewatch.cli import main

main()
