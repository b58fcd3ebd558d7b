"""The models the contract tests serve, one per task (tests run offline, see CONTRIBUTING.md).

A value is a local folder, a Hub id found in the cache (HF_HOME), or a function that builds a
small model into the folder it is given and returns its path.
"""

from api_inference_community.testing.contract import ModelsByTask, placeholder_model

# Replace each placeholder with a small model of its task.
TEST_MODELS: ModelsByTask = {
    "audio-classification": placeholder_model,
    "audio-to-audio": placeholder_model,
    "automatic-speech-recognition": placeholder_model,
    "conversational": placeholder_model,
    "depth-estimation": placeholder_model,
    "document-question-answering": placeholder_model,
    "feature-extraction": placeholder_model,
    "fill-mask": placeholder_model,
    "image-classification": placeholder_model,
    "image-segmentation": placeholder_model,
    "image-to-image": placeholder_model,
    "image-to-text": placeholder_model,
    "latent-to-image": placeholder_model,
    "mask-generation": placeholder_model,
    "object-detection": placeholder_model,
    "question-answering": placeholder_model,
    "sentence-similarity": placeholder_model,
    "speech-segmentation": placeholder_model,
    "summarization": placeholder_model,
    "table-question-answering": placeholder_model,
    "tabular-classification": placeholder_model,
    "tabular-regression": placeholder_model,
    "text-classification": placeholder_model,
    "text-generation": placeholder_model,
    "text-to-image": placeholder_model,
    "text-to-speech": placeholder_model,
    "text2text-generation": placeholder_model,
    "token-classification": placeholder_model,
    "translation": placeholder_model,
    "visual-question-answering": placeholder_model,
    "zero-shot-classification": placeholder_model,
    "zero-shot-image-classification": placeholder_model,
    "zero-shot-object-detection": placeholder_model,
}
