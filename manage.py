#!/usr/bin/env python
"""Django's command-line utility for Instantory."""

import os
import sys

from instantory.startup import load_settings_or_exit


def main() -> None:
    # Honour --settings before the settings are loaded for the one-line configuration check.
    for index, arg in enumerate(sys.argv):
        if arg.startswith("--settings="):
            os.environ["DJANGO_SETTINGS_MODULE"] = arg.split("=", 1)[1]
        elif arg == "--settings" and index + 1 < len(sys.argv):
            os.environ["DJANGO_SETTINGS_MODULE"] = sys.argv[index + 1]
    load_settings_or_exit()
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
