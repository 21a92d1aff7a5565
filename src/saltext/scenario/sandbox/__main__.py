"""`python -m saltext.scenario.sandbox` is the scenario-sandbox command."""

import sys

from .cli import main

sys.exit(main())
