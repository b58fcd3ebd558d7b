"""`python -m api_inference_community COMMAND`: the maintainers' command line (`maintainers.cli`)."""

import sys

from .maintainers.cli import main

sys.exit(main())
