from typing import Dict, Type

from api_inference_community import Pipeline, create_app
from api_inference_community.compat.pipeline_getter import pipeline_getter
from app.pipelines import FeatureExtractionPipeline, SentenceSimilarityPipeline

ALLOWED_TASKS: Dict[str, Type[Pipeline]] = {
    "feature-extraction": FeatureExtractionPipeline,
    "sentence-similarity": SentenceSimilarityPipeline,
}

app = create_app(ALLOWED_TASKS)
get_pipeline = pipeline_getter(ALLOWED_TASKS)  # for tests written for the upstream package
