from app.pipelines.image_classification import ImageClassificationPipeline

__all__ = ["ImageClassificationPipeline"]
