"""`python -m api_inference_community.serve [module:app]`: the server process of every image (see `runtime.server`)."""

from .runtime.server import main, run

__all__ = ["main", "run"]

if __name__ == "__main__":
    main()
