"""``python -m cli``: the same as the ``callnos-gateway`` console script."""

import sys

from cli import main

sys.exit(main())
