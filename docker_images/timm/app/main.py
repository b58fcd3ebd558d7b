from typing import Dict, Type

from api_inference_community import Pipeline, create_app
from app.pipelines import ImageClassificationPipeline

ALLOWED_TASKS: Dict[str, Type[Pipeline]] = {"image-classification": ImageClassificationPipeline}

app = create_app(ALLOWED_TASKS)
