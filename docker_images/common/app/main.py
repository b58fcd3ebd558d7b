"""The common image.

ALLOWED_TASKS stays a literal dict: tools read it without importing the library.
"""

from typing import Dict, Type

from api_inference_community import Pipeline, create_app
from api_inference_community.compat.pipeline_getter import pipeline_getter
from app.pipelines import (
    AudioClassificationPipeline,
    AudioToAudioPipeline,
    AutomaticSpeechRecognitionPipeline,
    ConversationalPipeline,
    DepthEstimationPipeline,
    DocumentQuestionAnsweringPipeline,
    FeatureExtractionPipeline,
    FillMaskPipeline,
    ImageClassificationPipeline,
    ImageSegmentationPipeline,
    ImageToImagePipeline,
    ImageToTextPipeline,
    LatentToImagePipeline,
    MaskGenerationPipeline,
    ObjectDetectionPipeline,
    QuestionAnsweringPipeline,
    SentenceSimilarityPipeline,
    SpeechSegmentationPipeline,
    SummarizationPipeline,
    TableQuestionAnsweringPipeline,
    TabularClassificationPipeline,
    TabularRegressionPipeline,
    Text2TextGenerationPipeline,
    TextClassificationPipeline,
    TextGenerationPipeline,
    TextToImagePipeline,
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
    "audio-to-audio": AudioToAudioPipeline,
    "automatic-speech-recognition": AutomaticSpeechRecognitionPipeline,
    "conversational": ConversationalPipeline,
    "depth-estimation": DepthEstimationPipeline,
    "document-question-answering": DocumentQuestionAnsweringPipeline,
    "feature-extraction": FeatureExtractionPipeline,
    "fill-mask": FillMaskPipeline,
    "image-classification": ImageClassificationPipeline,
    "image-segmentation": ImageSegmentationPipeline,
    "image-to-image": ImageToImagePipeline,
    "image-to-text": ImageToTextPipeline,
    "latent-to-image": LatentToImagePipeline,
    "mask-generation": MaskGenerationPipeline,
    "object-detection": ObjectDetectionPipeline,
    "question-answering": QuestionAnsweringPipeline,
    "sentence-similarity": SentenceSimilarityPipeline,
    "speech-segmentation": SpeechSegmentationPipeline,
    "summarization": SummarizationPipeline,
    "table-question-answering": TableQuestionAnsweringPipeline,
    "tabular-classification": TabularClassificationPipeline,
    "tabular-regression": TabularRegressionPipeline,
    "text-classification": TextClassificationPipeline,
    "text-generation": TextGenerationPipeline,
    "text-to-image": TextToImagePipeline,
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
