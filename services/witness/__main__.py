"""``python -m services.witness``: run the witness (see server.py)."""

import sys

from .server import main

sys.exit(main())
