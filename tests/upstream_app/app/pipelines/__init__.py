from typing import Any, Dict, List

from api_inference_community.pipelines import Pipeline


class TextClassificationPipeline(Pipeline):
    """A pipeline as upstream libraries write them: loads in __init__, answers in __call__."""

    def __init__(self, model_id: str):
        self.model_id = model_id

    def __call__(self, inputs: str, **parameters: Any) -> List[Dict[str, Any]]:
        if inputs == "explode":
            raise RuntimeError("hidden detail")
        positive = min(1.0, inputs.count("good") / 2)
        return [{"label": "POSITIVE", "score": positive}, {"label": "NEGATIVE", "score": 1 - positive}]


class SpeechRecognitionPipeline(Pipeline):
    def __init__(self, model_id: str):
        self.sampling_rate = 16000

    def __call__(self, inputs, **parameters):
        return {"text": f"{len(inputs)}"}
