"""An app built by the core's factory around fake pipelines, for real server processes."""

from typing import Dict, Type

from fakes import Classifier, FileGated

from api_inference_community import Pipeline, create_app

ALLOWED_TASKS: Dict[str, Type[Pipeline]] = {
    "feature-extraction": FileGated,
    "text-classification": Classifier,
}

app = create_app(ALLOWED_TASKS)
