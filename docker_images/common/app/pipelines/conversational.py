"""The conversational pipeline: fill in `__init__` and `__call__`."""

from __future__ import annotations

from typing import Any, Dict

from api_inference_community import Pipeline


class ConversationalPipeline(Pipeline):
    """Answers conversational requests.

    Receives:
        `inputs`: dict {"text": str, "past_user_inputs": List[str], "generated_responses": List[str]}: the new user
        message and the earlier turns, oldest first.

    Parameters:
        `min_length`, `max_length`, `max_new_tokens`, `top_k`, `top_p`, `max_time`, `repetition_penalty`,
        `temperature`, `num_return_sequences`, `do_sample`, `seed`, validated by the core (schemas.py), and any
        other the client sends, as is: raise `api_inference_community.errors.InvalidInput` (a 400) for one it cannot
        take.

    Returns:
        dict {"generated_text": str, "conversation": {"past_user_inputs": List[str], "generated_responses":
        List[str]}}: the reply, and the conversation with this turn appended (`text` to past_user_inputs, the reply
        to generated_responses).
    """

    def __init__(self, model_id: str) -> None:
        # `model_id` is a local folder holding the model's files: load the model from it here.
        self.model_dir = model_id

    def __call__(self, inputs: Dict[str, Any], **parameters: Any) -> Dict[str, Any]:
        raise NotImplementedError(
            "ConversationalPipeline.__call__ is not implemented: "
            "fill in docker_images/common/app/pipelines/conversational.py"
        )
