"""The ``credsign`` command: manage stored credential records, preview signed requests.

Data (JSON views, signed requests) goes to stdout; messages go to stderr. Keys
never appear on a command line: the master key comes from ``$CREDSIGN_MASTER_KEY``
or the key file beside the SQLite database, and a new key for ``keys rotate`` is
named by the environment variable holding it (``--new-key-env``).
"""

from credsign.cli.parser import build_parser
from credsign.cli.run import main

__all__ = ["build_parser", "main"]
