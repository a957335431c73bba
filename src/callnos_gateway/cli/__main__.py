"""``python -m callnos_gateway.cli``: the same as the ``callnos-gateway`` console script."""

import sys

from callnos_gateway.cli import main

sys.exit(main())
