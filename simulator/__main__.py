"""Entry point of ``python -m simulator``: see ``simulator.cli`` for the flags."""

from .cli import main

raise SystemExit(main())
