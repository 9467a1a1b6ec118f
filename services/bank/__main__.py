"""``python -m services.bank``: run the sandbox collecting bank (see server.py)."""

import sys

from .server import main

sys.exit(main())
