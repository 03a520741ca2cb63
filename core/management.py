"""Options the management commands share, each with the same flag, action and default help."""

from __future__ import annotations

from argparse import ArgumentParser


def add_json_argument(parser: ArgumentParser, help: str = "Print the report as JSON.") -> None:
    parser.add_argument("--json", action="store_true", help=help)


def add_dry_run_argument(parser: ArgumentParser, help: str) -> None:
    parser.add_argument("--dry-run", action="store_true", help=help)


def add_no_progress_argument(parser: ArgumentParser, help: str = "No progress bar.") -> None:
    parser.add_argument("--no-progress", action="store_true", help=help)


def add_seconds_argument(parser: ArgumentParser, option: str, *, setting: str, number: type = int) -> None:
    """An optional number of seconds; left out (None), the command goes by `setting`."""
    parser.add_argument(option, type=number, default=None, help=f"Seconds (default {setting}).")
