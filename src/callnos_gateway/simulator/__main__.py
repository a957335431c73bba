"""Entry point of ``python -m callnos_gateway.simulator``: see ``callnos_gateway.simulator.cli`` for the flags."""

from .cli import main

raise SystemExit(main())
