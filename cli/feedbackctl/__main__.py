"""`python -m feedbackctl`, the same as the `feedbackctl` command."""

import sys

from feedbackctl.main import main

sys.exit(main())
