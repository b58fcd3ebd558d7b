from app.pipelines.feature_extraction import FeatureExtractionPipeline
from app.pipelines.sentence_similarity import SentenceSimilarityPipeline

__all__ = ["FeatureExtractionPipeline", "SentenceSimilarityPipeline"]
