from typing import Dict, Type

from api_inference_community import Pipeline, create_app
from app.pipelines import FeatureExtractionPipeline, SentenceSimilarityPipeline

ALLOWED_TASKS: Dict[str, Type[Pipeline]] = {
    "feature-extraction": FeatureExtractionPipeline,
    "sentence-similarity": SentenceSimilarityPipeline,
}

app = create_app(ALLOWED_TASKS)
