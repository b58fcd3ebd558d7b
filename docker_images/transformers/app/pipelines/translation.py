"""translation: a text in another language."""

from __future__ import annotations

from typing import Any, Dict, Mapping, Tuple

from api_inference_community.errors import InvalidInput
from app.pipelines.seq2seq import Seq2SeqPipeline, language_pairs


class TranslationPipeline(Seq2SeqPipeline):
    """`"text"` -> `[{"translation_text": str}]`.

    `src_lang` and `tgt_lang` (both or neither): the languages of a multilingual model, as its
    tokenizer names them (e.g. `eng_Latn`, `fra_Latn`), or a pair the model's config declares
    (`translation_en_to_de` in `task_specific_params`, whose prefix is put before the text). Other
    parameters as `Seq2SeqPipeline` takes them.
    """

    task = "translation"
    output_key = "translation_text"
    extra_parameters = ["src_lang", "tgt_lang"]

    def __init__(self, model_id: str) -> None:
        super().__init__(model_id)
        self.pairs = language_pairs(model_id)  # read from the file: the pipeline pops their prefixes

    def prepare(self, text: str, parameters: Mapping[str, Any]) -> Tuple[str, Dict[str, Any]]:
        source, target = parameters.get("src_lang"), parameters.get("tgt_lang")
        if source is None and target is None:
            return text, {}
        if source is None or target is None:
            missing = "src_lang" if source is None else "tgt_lang"
            raise InvalidInput(f"`parameters.{missing}` is needed too: give both languages or neither")
        tokenizer = self.pipe.tokenizer
        if getattr(tokenizer, "_build_translation_inputs", None):  # a multilingual tokenizer (NLLB, M2M100, mBART...)
            for name, code in (("src_lang", source), ("tgt_lang", target)):
                if tokenizer.convert_tokens_to_ids(code) in (None, tokenizer.unk_token_id):
                    raise InvalidInput(f"`parameters.{name}`: `{code}` is not a language code of this model")
            return text, {"src_lang": source, "tgt_lang": target}
        pair = self.pairs.get(f"{source}_to_{target}")
        if pair is None:
            known = ", ".join(sorted(self.pairs)) or "none"
            raise InvalidInput(
                f"`parameters.src_lang`, `parameters.tgt_lang`: this model does not translate `{source}` to "
                f"`{target}` (the language pairs it declares: {known})"
            )
        return pair.get("prefix", "") + text, {}
