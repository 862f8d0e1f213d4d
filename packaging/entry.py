"""Entry script of the desktop bundle: the same ``nanotwin`` command as the pip install."""

import multiprocessing
import sys

from nanotwin_core.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main())
