"""``python -m services.border``: run the sandbox border-control service (see server.py)."""

import sys

from .server import main

sys.exit(main())
