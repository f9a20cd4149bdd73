"""``python -m pyframe`` is the ``pyframe`` command."""

import sys

from .cli import main

sys.exit(main())
