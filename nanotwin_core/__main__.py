"""``python -m nanotwin_core`` runs the nanotwin command."""

import sys

from nanotwin_core.cli import main

if __name__ == "__main__":
    sys.exit(main())
