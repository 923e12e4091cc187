"""``python -m clickkit.sandbox serve ...``: same as ``clickkit sandbox serve ...``."""

import sys

from clickkit.sandbox.cli import main

if __name__ == "__main__":
    sys.exit(main())
