"""huggingface_hub's InferenceClient against each task's app behind a real HTTP server (`client_calls`)."""

from __future__ import annotations

import pytest
from client_calls import CLIENT_CALLS
from huggingface_hub import InferenceClient


@pytest.mark.parametrize("task", sorted(CLIENT_CALLS))
def test_inference_client(live, task):
    CLIENT_CALLS[task](live(task))


def test_text_generation_details_are_refused_then_retried_without(live):
    client = InferenceClient(live("text-generation"), timeout=120)
    text = client.text_generation("Once upon a time,", max_new_tokens=5)
    with pytest.warns(UserWarning, match="details"):  # refused, recognized, retried without it
        assert client.text_generation("Once upon a time,", max_new_tokens=5, details=True) == text


def test_chat_completions_create_answers_as_chat_completion(live):
    client = InferenceClient(base_url=live("text-generation"), timeout=120)
    messages = [{"role": "user", "content": "Hello world"}]
    completion = client.chat_completion(messages, max_tokens=4, seed=1)
    assert completion.choices[0].finish_reason in ("stop", "length")
    assert client.chat.completions.create(messages=messages, max_tokens=4, seed=1).choices[0].message.content == (
        completion.choices[0].message.content
    )
