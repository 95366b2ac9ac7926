"""The ``patron`` command: Django's management commands under one friendly name.

``patron serve``, ``patron worker``, ``patron migrate``, ``patron createadmin``,
``patron apikey create``, ``patron demo`` ... are management commands of the apps.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "patron.settings")
    from django.core.management import execute_from_command_line

    args = list(sys.argv[1:] if argv is None else argv)
    execute_from_command_line(["patron", *args])
    return 0


if __name__ == "__main__":
    sys.exit(main())
