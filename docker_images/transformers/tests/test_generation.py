"""The generating tasks over HTTP (in-process): text generation (prompts, chat messages, chat
completion requests), summarization, translation, text2text-generation, image-to-text."""

from __future__ import annotations

import pytest
import tiny_models
from transformers_testing import answer, b64, png, refused

PROMPT = "Once upon a time,"
MESSAGES = [{"role": "system", "content": "you are a helpful assistant."}, {"role": "user", "content": "Hello world"}]


def new_tokens(pipeline, task, text):
    return len(pipeline(task).pipe.tokenizer(text, add_special_tokens=False)["input_ids"])


# ------------------------------------------------------------ text-generation


def test_text_generation_is_greedy_and_short_by_default(served, pipeline):
    client = served("text-generation")
    (first,) = answer(client, PROMPT)
    assert set(first) == {"generated_text"} and first["generated_text"]
    assert answer(client, PROMPT) == [first]  # greedy: the same answer every time
    assert new_tokens(pipeline, "text-generation", first["generated_text"]) <= tiny_models.GENERATED_TOKENS + 1
    (full,) = answer(client, PROMPT, return_full_text=True)
    assert full["generated_text"] == PROMPT + first["generated_text"]


def test_text_generation_parameters(served, pipeline):
    client = served("text-generation")
    short = answer(client, PROMPT, max_new_tokens=2)[0]["generated_text"]
    longer = answer(client, PROMPT, max_new_tokens=20)[0]["generated_text"]
    assert new_tokens(pipeline, "text-generation", short) <= 3 < new_tokens(pipeline, "text-generation", longer)
    sampled = [answer(client, PROMPT, do_sample=True, seed=7, max_new_tokens=12) for _ in range(2)]
    assert sampled[0] == sampled[1]  # a seed makes sampling repeatable
    assert answer(client, PROMPT, temperature=0.0, max_new_tokens=20)[0]["generated_text"] == longer  # greedy
    assert len(answer(client, PROMPT, num_return_sequences=2, do_sample=True, seed=1)) == 2
    word = longer.split()[1] if len(longer.split()) > 1 else longer.strip()
    stopped = answer(client, PROMPT, max_new_tokens=20, stop=[word])[0]["generated_text"]
    assert stopped.endswith(word) and len(stopped) <= len(longer)  # stops at the stop string, which it keeps
    penalized = answer(client, PROMPT, max_new_tokens=20, repetition_penalty=5.0)[0]["generated_text"]
    assert penalized != longer
    for flags in ({"details": False, "watermark": False, "decoder_input_details": False}, {"stream": False}):
        assert answer(client, PROMPT, **flags)


def test_text_generation_truncate_keeps_the_end_of_the_prompt(served, pipeline):
    client = served("text-generation")
    tokenizer = pipeline("text-generation").pipe.tokenizer
    ids = tokenizer(PROMPT)["input_ids"]
    tail = tokenizer.decode(ids[-3:])
    assert answer(client, PROMPT, truncate=3) == answer(client, tail)


def test_chat_messages_use_the_models_chat_template(served, pipeline):
    client = served("text-generation")
    tokenizer = pipeline("text-generation").pipe.tokenizer
    rendered = tokenizer.apply_chat_template(MESSAGES, tokenize=False, add_generation_prompt=True)
    assert answer(client, MESSAGES) == answer(client, rendered)
    parts = [
        {
            **MESSAGES[0],
            "content": [{"type": "text", "text": "you are a helpful "}, {"type": "text", "text": "assistant."}],
        }
    ]
    assert answer(client, parts + MESSAGES[1:]) == answer(client, MESSAGES)  # text parts are joined


def test_chat_completion_request(served, models):
    client = served("text-generation")
    request = {"model": "tiny", "messages": MESSAGES, "max_tokens": 5}
    response = client.post("/v1/chat/completions", json=request)
    assert response.status_code == 200, response.text
    completion = response.json()
    assert completion["object"] == "chat.completion" and completion["model"] == models.repo_id("text-generation")
    (choice,) = completion["choices"]
    assert choice["message"]["role"] == "assistant" and isinstance(choice["message"]["content"], str)
    usage = completion["usage"]
    assert (
        usage["completion_tokens"] <= 5 and usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    )
    assert choice["finish_reason"] == ("length" if usage["completion_tokens"] == 5 else "stop")
    (reply,) = answer(client, MESSAGES, max_new_tokens=5)
    assert choice["message"]["content"] == reply["generated_text"]  # the same generation as chat messages
    two = client.post("/", json={**request, "n": 2, "seed": 3}).json()
    assert [c["index"] for c in two["choices"]] == [0, 1]
    word = reply["generated_text"].split()[0] if reply["generated_text"].split() else "x"
    stopped = client.post("/", json={**request, "stop": word, "max_tokens": 20}).json()["choices"][0]
    assert word not in stopped["message"]["content"] or not reply["generated_text"].split()  # left out, as OpenAI does


@pytest.mark.parametrize(
    "body, field",
    [
        ({"inputs": PROMPT, "parameters": {"details": True}}, "`parameters.details`"),
        ({"inputs": PROMPT, "parameters": {"best_of": 2}}, "`parameters.best_of`"),
        ({"inputs": PROMPT, "parameters": {"max_new_tokens": 600}}, "`parameters.max_new_tokens`"),
        ({"inputs": PROMPT, "parameters": {"temperature": -1}}, "`parameters.temperature`"),
        ({"inputs": PROMPT, "parameters": {"top_p": 0}}, "`parameters.top_p`"),
        ({"inputs": PROMPT, "parameters": {"custom_generate": "org/code"}}, "`parameters.custom_generate`"),
        ({"inputs": PROMPT, "parameters": {"max_length": 2}}, "`parameters.max_length`"),
        ({"inputs": " ".join(["once upon a time"] * 200)}, "`inputs`"),
        ({"model": "m", "messages": MESSAGES, "stream": True}, "`inputs.stream`"),
        ({"model": "m", "messages": MESSAGES, "tools": [{"type": "function"}]}, "`inputs.tools`"),
        ({"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url"}]}]}, "`inputs.messages[0]"),
        ({"model": "m", "messages": []}, "`inputs.messages`"),
    ],
)
def test_text_generation_refuses(served, body, field):
    refused(served("text-generation"), body, field)


def test_tgi_only_flags_are_refused_as_the_client_expects(served):
    import re

    from huggingface_hub.inference._client import MODEL_KWARGS_NOT_USED_REGEX

    message = refused(served("text-generation"), {"inputs": PROMPT, "parameters": {"details": True}}, "details")
    assert re.search(MODEL_KWARGS_NOT_USED_REGEX, message).group(1).strip("' ") == "details"


# ------------------------------------------------------------ text-to-text


@pytest.mark.parametrize(
    "task, key",
    [
        ("summarization", "summary_text"),
        ("translation", "translation_text"),
        ("text2text-generation", "generated_text"),
    ],
)
def test_text_to_text_shapes_and_parameters(served, pipeline, task, key):
    client = served(task)
    text = "My name is Sarah and I live in London. I work at a bakery."
    (default,) = answer(client, text)
    assert set(default) == {key} and answer(client, text) == [default]
    short = answer(client, text, max_new_tokens=2)[0][key]
    nested = answer(client, text, generate_parameters={"max_new_tokens": 2})[0][key]
    assert short == nested and new_tokens(pipeline, task, short) <= 3  # decoded, then tokenized again: about 2
    longer = answer(client, text, max_new_tokens=12, min_new_tokens=12)[0][key]
    assert new_tokens(pipeline, task, longer) > new_tokens(pipeline, task, short)
    assert answer(client, text, num_beams=2, clean_up_tokenization_spaces=False, truncation="only_first")
    assert len(answer(client, text, num_return_sequences=2, num_beams=2)) == 2
    long_text = " ".join(["my name is sarah and i live in london"] * 80)
    assert answer(client, long_text)  # cut to what the model reads
    refused(client, {"inputs": long_text, "parameters": {"truncation": "do_not_truncate"}}, "`inputs`", "tokens")
    refused(
        client,
        {"inputs": text, "parameters": {"generate_parameters": {"num_beams": 0}}},
        "`parameters.generate_parameters.num_beams`",
    )
    refused(client, {"inputs": text, "parameters": {"beams": 2}}, "`parameters.beams`")


def test_translation_languages(served):
    client = served("translation")
    text = "How old are you?"
    paired = answer(client, text, src_lang="en", tgt_lang="de")
    assert paired == answer(client, tiny_models.TRANSLATION_PREFIX + text)  # the model's own prefix for en->de
    refused(
        client,
        {"inputs": text, "parameters": {"src_lang": "en", "tgt_lang": "fr"}},
        "`parameters.src_lang`",
        "en_to_de",
    )
    refused(client, {"inputs": text, "parameters": {"src_lang": "en"}}, "`parameters.tgt_lang`")


# ------------------------------------------------------------ image-to-text


def test_image_to_text(served, pipeline):
    client = served("image-to-text")
    image = b64(png())
    (caption,) = answer(client, image)
    assert set(caption) == {"generated_text"} and answer(client, image) == [caption]
    forced = answer(client, image, max_new_tokens=4, generation_parameters={"min_new_tokens": 4})[0]["generated_text"]
    assert 1 <= new_tokens(pipeline, "image-to-text", forced) <= 4
    assert answer(client, image, generation_parameters={"do_sample": True, "top_k": 5}, seed=2) == answer(
        client, image, generation_parameters={"do_sample": True, "top_k": 5}, seed=2
    )
    refused(
        client,
        {"inputs": image, "parameters": {"generation_parameters": {"top_k": 0}}},
        "`parameters.generation_parameters.top_k`",
    )
    refused(client, {"inputs": image, "parameters": {"max_new_tokens": 0}}, "`parameters.max_new_tokens`")
