"""``python -m nanotwin_core`` runs the nanotwin command."""

import sys

from nanotwin_core.cli import main

sys.exit(main())
