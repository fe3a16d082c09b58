"""`python -m iam_lastused`: the command line."""

import sys

from iam_lastused.cli.main import main

sys.exit(main())
