#!/usr/bin/env python3
"""Print {library: [tasks]} as JSON, read from each image's ALLOWED_TASKS without importing it.

python3 scripts/export_tasks.py [--root REPOSITORY]

Needs only the standard library: `ALLOWED_TASKS` is read with `ast` (`hub.libraries`).
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the core of this checkout, installed or not

from api_inference_community.hub.libraries import DEFAULT_ROOT, AllowedTasksError, discover  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="repository root (default: this checkout)")
    try:
        print(json.dumps(discover(parser.parse_args().root), sort_keys=True, indent=4))
    except AllowedTasksError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
