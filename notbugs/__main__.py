"""``python -m notbugs`` (and ``torchrun -m notbugs``) run the CLI."""

import sys

from .cli import main

sys.exit(main())
