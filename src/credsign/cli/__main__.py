"""``python -m credsign.cli``."""

import sys

from credsign.cli.run import main

sys.exit(main())
