"""The table-question-answering pipeline: fill in `__init__` and `__call__`."""

from __future__ import annotations

from typing import Any, Dict

from api_inference_community import Pipeline


class TableQuestionAnsweringPipeline(Pipeline):
    """Answers table-question-answering requests.

    Receives:
        `inputs`: dict {"query": str, "table": Dict[str, List[str]]}: columns by name, all of the same length.

    Parameters:
        `padding`, `sequential`, `truncation`, validated by the core (schemas.py); only those the client sent.

    Returns:
        dict {"answer": str, "coordinates": List[[row: int, column: int]], "cells": List[str], "aggregator": str}.
    """

    def __init__(self, model_id: str) -> None:
        # `model_id` is a local folder holding the model's files: load the model from it here.
        self.model_dir = model_id

    def __call__(self, inputs: Dict[str, Any], **parameters: Any) -> Dict[str, Any]:
        raise NotImplementedError(
            "TableQuestionAnsweringPipeline.__call__ is not implemented: "
            "fill in docker_images/common/app/pipelines/table_question_answering.py"
        )
