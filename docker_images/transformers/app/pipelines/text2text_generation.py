"""text2text-generation: an encoder-decoder model's answer to a text."""

from __future__ import annotations

from app.pipelines.seq2seq import Seq2SeqPipeline


class Text2TextGenerationPipeline(Seq2SeqPipeline):
    """`"text"` -> `[{"generated_text": str}]`; parameters as `Seq2SeqPipeline` takes them."""

    task = "text2text-generation"
    output_key = "generated_text"
