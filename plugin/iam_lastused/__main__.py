"""`python -m iam_lastused`: the command line."""

import sys

from iam_lastused.cli import main

sys.exit(main())
