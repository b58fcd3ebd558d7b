"""table-question-answering: the cells of a table that answer a question (TAPAS-like models)."""

from __future__ import annotations

from typing import Any, Dict, Optional, Union

from api_inference_community.errors import InvalidInput
from app.pipelines.base import TransformersPipeline

NO_AGGREGATION = "NONE"


def truncation_of(value: Union[None, bool, str]) -> Any:
    """The spec's boolean, or the strategy names the API also took, as the tokenizer takes them."""
    if value is None or isinstance(value, bool):
        return value
    return value != "do_not_truncate"


class TableQuestionAnsweringPipeline(TransformersPipeline):
    """`{"query", "table": {column: [cells]}}` -> `{"answer", "coordinates", "cells", "aggregator"}`.

    `padding` (do_not_pad, longest, max_length), `sequential` (answer a batch of questions in order,
    for conversational models), `truncation` (cut tables longer than the model reads instead of
    refusing them; true by default here).
    """

    task = "table-question-answering"

    def __call__(
        self,
        inputs: Dict[str, Any],
        padding: Optional[str] = None,
        sequential: Optional[bool] = None,
        truncation: Union[None, bool, str] = None,
    ) -> Dict[str, Any]:
        import pandas

        table = pandas.DataFrame.from_dict(inputs["table"]).astype(str)
        kwargs: Dict[str, Any] = {"truncation": True if truncation is None else truncation_of(truncation)}
        if padding is not None:
            kwargs["padding"] = padding
        if sequential is not None:
            kwargs["sequential"] = sequential
        if not kwargs["truncation"]:
            self._check_length(inputs["query"], table)
        output = self.pipe(table=table, query=inputs["query"], **kwargs)
        return {
            "answer": output["answer"],
            "coordinates": [[int(row), int(column)] for row, column in output["coordinates"]],
            "cells": [str(cell) for cell in output["cells"]],
            "aggregator": output.get("aggregator", NO_AGGREGATION),
        }

    def _check_length(self, query: str, table: Any) -> None:
        tokenizer = self.pipe.tokenizer
        length = len(tokenizer(table=table, queries=query, truncation=False)["input_ids"])
        if length > tokenizer.model_max_length:
            raise InvalidInput(
                f"`inputs.table`: the question and table take {length} tokens, more than the model reads "
                f"({tokenizer.model_max_length}); leave `parameters.truncation` unset or true to cut the table"
            )
