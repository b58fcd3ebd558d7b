#!/usr/bin/env python
"""`python manage.py COMMAND`, as upstream users know it: the same as `api-inference-community COMMAND`."""

import sys

from api_inference_community.maintainers.cli import main

if __name__ == "__main__":
    sys.exit(main())
