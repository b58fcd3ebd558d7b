#!/usr/bin/env python
"""Print {library: [tasks]} as JSON, read from each image's ALLOWED_TASKS without importing it.

python scripts/export_tasks.py [--root REPOSITORY]
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the core of this checkout, installed or not

from api_inference_community.cli import CliError, export_tasks  # noqa: E402
from api_inference_community.libraries import DEFAULT_ROOT  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="repository root (default: this checkout)")
    try:
        print(export_tasks(parser.parse_args().root))
    except CliError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
