from typing import Dict, Type

from api_inference_community import Pipeline, create_app
from api_inference_community.compat.pipeline_getter import pipeline_getter
from app.pipelines import ImageClassificationPipeline

ALLOWED_TASKS: Dict[str, Type[Pipeline]] = {"image-classification": ImageClassificationPipeline}

app = create_app(ALLOWED_TASKS)
get_pipeline = pipeline_getter(ALLOWED_TASKS)  # for tests written for the upstream package
