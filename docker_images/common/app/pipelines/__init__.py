"""The pipelines of the common image, one per task."""

from app.pipelines.audio_classification import AudioClassificationPipeline
from app.pipelines.audio_to_audio import AudioToAudioPipeline
from app.pipelines.automatic_speech_recognition import AutomaticSpeechRecognitionPipeline
from app.pipelines.conversational import ConversationalPipeline
from app.pipelines.depth_estimation import DepthEstimationPipeline
from app.pipelines.document_question_answering import DocumentQuestionAnsweringPipeline
from app.pipelines.feature_extraction import FeatureExtractionPipeline
from app.pipelines.fill_mask import FillMaskPipeline
from app.pipelines.image_classification import ImageClassificationPipeline
from app.pipelines.image_segmentation import ImageSegmentationPipeline
from app.pipelines.image_to_image import ImageToImagePipeline
from app.pipelines.image_to_text import ImageToTextPipeline
from app.pipelines.latent_to_image import LatentToImagePipeline
from app.pipelines.mask_generation import MaskGenerationPipeline
from app.pipelines.object_detection import ObjectDetectionPipeline
from app.pipelines.question_answering import QuestionAnsweringPipeline
from app.pipelines.sentence_similarity import SentenceSimilarityPipeline
from app.pipelines.speech_segmentation import SpeechSegmentationPipeline
from app.pipelines.summarization import SummarizationPipeline
from app.pipelines.table_question_answering import TableQuestionAnsweringPipeline
from app.pipelines.tabular_classification import TabularClassificationPipeline
from app.pipelines.tabular_regression import TabularRegressionPipeline
from app.pipelines.text2text_generation import Text2TextGenerationPipeline
from app.pipelines.text_classification import TextClassificationPipeline
from app.pipelines.text_generation import TextGenerationPipeline
from app.pipelines.text_to_image import TextToImagePipeline
from app.pipelines.text_to_speech import TextToSpeechPipeline
from app.pipelines.token_classification import TokenClassificationPipeline
from app.pipelines.translation import TranslationPipeline
from app.pipelines.visual_question_answering import VisualQuestionAnsweringPipeline
from app.pipelines.zero_shot_classification import ZeroShotClassificationPipeline
from app.pipelines.zero_shot_image_classification import ZeroShotImageClassificationPipeline
from app.pipelines.zero_shot_object_detection import ZeroShotObjectDetectionPipeline

__all__ = [
    "AudioClassificationPipeline",
    "AudioToAudioPipeline",
    "AutomaticSpeechRecognitionPipeline",
    "ConversationalPipeline",
    "DepthEstimationPipeline",
    "DocumentQuestionAnsweringPipeline",
    "FeatureExtractionPipeline",
    "FillMaskPipeline",
    "ImageClassificationPipeline",
    "ImageSegmentationPipeline",
    "ImageToImagePipeline",
    "ImageToTextPipeline",
    "LatentToImagePipeline",
    "MaskGenerationPipeline",
    "ObjectDetectionPipeline",
    "QuestionAnsweringPipeline",
    "SentenceSimilarityPipeline",
    "SpeechSegmentationPipeline",
    "SummarizationPipeline",
    "TableQuestionAnsweringPipeline",
    "TabularClassificationPipeline",
    "TabularRegressionPipeline",
    "TextClassificationPipeline",
    "TextGenerationPipeline",
    "TextToImagePipeline",
    "TextToSpeechPipeline",
    "Text2TextGenerationPipeline",
    "TokenClassificationPipeline",
    "TranslationPipeline",
    "VisualQuestionAnsweringPipeline",
    "ZeroShotClassificationPipeline",
    "ZeroShotImageClassificationPipeline",
    "ZeroShotObjectDetectionPipeline",
]
