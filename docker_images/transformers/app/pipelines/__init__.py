"""The transformers pipelines of this image, one module per task, and what they share."""

from app.pipelines.audio_classification import AudioClassificationPipeline
from app.pipelines.automatic_speech_recognition import AutomaticSpeechRecognitionPipeline
from app.pipelines.depth_estimation import DepthEstimationPipeline
from app.pipelines.document_question_answering import DocumentQuestionAnsweringPipeline
from app.pipelines.feature_extraction import FeatureExtractionPipeline
from app.pipelines.fill_mask import FillMaskPipeline
from app.pipelines.image_classification import ImageClassificationPipeline
from app.pipelines.image_segmentation import ImageSegmentationPipeline
from app.pipelines.image_to_image import ImageToImagePipeline
from app.pipelines.image_to_text import ImageToTextPipeline
from app.pipelines.mask_generation import MaskGenerationPipeline
from app.pipelines.object_detection import ObjectDetectionPipeline
from app.pipelines.question_answering import QuestionAnsweringPipeline
from app.pipelines.summarization import SummarizationPipeline
from app.pipelines.table_question_answering import TableQuestionAnsweringPipeline
from app.pipelines.text2text_generation import Text2TextGenerationPipeline
from app.pipelines.text_classification import TextClassificationPipeline
from app.pipelines.text_generation import TextGenerationPipeline
from app.pipelines.text_to_speech import TextToSpeechPipeline
from app.pipelines.token_classification import TokenClassificationPipeline
from app.pipelines.translation import TranslationPipeline
from app.pipelines.visual_question_answering import VisualQuestionAnsweringPipeline
from app.pipelines.zero_shot_classification import ZeroShotClassificationPipeline
from app.pipelines.zero_shot_image_classification import ZeroShotImageClassificationPipeline
from app.pipelines.zero_shot_object_detection import ZeroShotObjectDetectionPipeline

__all__ = [
    "AudioClassificationPipeline",
    "AutomaticSpeechRecognitionPipeline",
    "DepthEstimationPipeline",
    "DocumentQuestionAnsweringPipeline",
    "FeatureExtractionPipeline",
    "FillMaskPipeline",
    "ImageClassificationPipeline",
    "ImageSegmentationPipeline",
    "ImageToImagePipeline",
    "ImageToTextPipeline",
    "MaskGenerationPipeline",
    "ObjectDetectionPipeline",
    "QuestionAnsweringPipeline",
    "SummarizationPipeline",
    "TableQuestionAnsweringPipeline",
    "Text2TextGenerationPipeline",
    "TextClassificationPipeline",
    "TextGenerationPipeline",
    "TextToSpeechPipeline",
    "TokenClassificationPipeline",
    "TranslationPipeline",
    "VisualQuestionAnsweringPipeline",
    "ZeroShotClassificationPipeline",
    "ZeroShotImageClassificationPipeline",
    "ZeroShotObjectDetectionPipeline",
]
