"""summarization: a shorter text that says what a text says."""

from __future__ import annotations

from app.pipelines.seq2seq import Seq2SeqPipeline


class SummarizationPipeline(Seq2SeqPipeline):
    """`"text"` -> `[{"summary_text": str}]`; parameters as `Seq2SeqPipeline` takes them."""

    task = "summarization"
    output_key = "summary_text"
