from typing import Dict, Type

from api_inference_community import Pipeline, create_app
from api_inference_community.compat.pipeline_getter import pipeline_getter
from app.pipelines import (
    AudioClassificationPipeline,
    AutomaticSpeechRecognitionPipeline,
    DepthEstimationPipeline,
    DocumentQuestionAnsweringPipeline,
    FeatureExtractionPipeline,
    FillMaskPipeline,
    ImageClassificationPipeline,
    ImageSegmentationPipeline,
    ImageToImagePipeline,
    ImageToTextPipeline,
    MaskGenerationPipeline,
    ObjectDetectionPipeline,
    QuestionAnsweringPipeline,
    SummarizationPipeline,
    TableQuestionAnsweringPipeline,
    Text2TextGenerationPipeline,
    TextClassificationPipeline,
    TextGenerationPipeline,
    TextToSpeechPipeline,
    TokenClassificationPipeline,
    TranslationPipeline,
    VisualQuestionAnsweringPipeline,
    ZeroShotClassificationPipeline,
    ZeroShotImageClassificationPipeline,
    ZeroShotObjectDetectionPipeline,
)

ALLOWED_TASKS: Dict[str, Type[Pipeline]] = {
    "audio-classification": AudioClassificationPipeline,
    "automatic-speech-recognition": AutomaticSpeechRecognitionPipeline,
    "depth-estimation": DepthEstimationPipeline,
    "document-question-answering": DocumentQuestionAnsweringPipeline,
    "feature-extraction": FeatureExtractionPipeline,
    "fill-mask": FillMaskPipeline,
    "image-classification": ImageClassificationPipeline,
    "image-segmentation": ImageSegmentationPipeline,
    "image-to-image": ImageToImagePipeline,
    "image-to-text": ImageToTextPipeline,
    "mask-generation": MaskGenerationPipeline,
    "object-detection": ObjectDetectionPipeline,
    "question-answering": QuestionAnsweringPipeline,
    "summarization": SummarizationPipeline,
    "table-question-answering": TableQuestionAnsweringPipeline,
    "text-classification": TextClassificationPipeline,
    "text-generation": TextGenerationPipeline,
    "text-to-speech": TextToSpeechPipeline,
    "text2text-generation": Text2TextGenerationPipeline,
    "token-classification": TokenClassificationPipeline,
    "translation": TranslationPipeline,
    "visual-question-answering": VisualQuestionAnsweringPipeline,
    "zero-shot-classification": ZeroShotClassificationPipeline,
    "zero-shot-image-classification": ZeroShotImageClassificationPipeline,
    "zero-shot-object-detection": ZeroShotObjectDetectionPipeline,
}

app = create_app(ALLOWED_TASKS)
get_pipeline = pipeline_getter(ALLOWED_TASKS)  # for tests written for the upstream package
