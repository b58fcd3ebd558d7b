"""The text-generation pipeline: fill in `__init__` and `__call__`."""

from __future__ import annotations

from typing import Any, Dict, List, Union

from api_inference_community import Pipeline


class TextGenerationPipeline(Pipeline):
    """Answers text-generation requests.

    Receives:
        `inputs`: str, the prompt; or a List of chat messages {"role": str, "content": str or a list of parts}; or a
        dict, a whole chat-completion request {"messages": [...], "max_tokens", "temperature", ...} (what
        InferenceClient.chat_completion posts; unset fields are None).

    Parameters:
        `min_length`, `max_length`, `max_new_tokens`, `top_k`, `top_p`, `max_time`, `repetition_penalty`,
        `temperature`, `num_return_sequences`, `do_sample`, `seed`, `return_full_text`, `stop`, `adapter_id`,
        `best_of`, `decoder_input_details`, `details`, `frequency_penalty`, `grammar`, `top_n_tokens`, `truncate`,
        `typical_p`, validated by the core (schemas.py), and any other the client sends, as is: raise
        `api_inference_community.errors.InvalidInput` (a 400) for one it cannot take.

    Returns:
        a list with one {"generated_text": str} (the text the model produced) (for chat messages, the reply); for a
        chat-completion request, the chat-completion answer {"id", "object": "chat.completion", "created", "model",
        "choices": [{"index", "message": {"role": "assistant", "content"}, "finish_reason"}], "usage"}.
    """

    def __init__(self, model_id: str) -> None:
        # `model_id` is a local folder holding the model's files: load the model from it here.
        self.model_dir = model_id

    def __call__(self, inputs: Union[str, List[Dict[str, Any]], Dict[str, Any]], **parameters: Any) -> Any:
        raise NotImplementedError(
            "TextGenerationPipeline.__call__ is not implemented: "
            "fill in docker_images/common/app/pipelines/text_generation.py"
        )
