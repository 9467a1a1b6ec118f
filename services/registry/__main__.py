"""``python -m services.registry``: run the sandbox population registry (see server.py)."""

import sys

from .server import main

sys.exit(main())
