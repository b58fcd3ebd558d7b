"""Chat completion on a text-generation model: the request and answer shapes of the Hub's
`chat-completion` task (the OpenAI shape), served through the model's chat template.

`InferenceClient.chat_completion` posts such a request (`{"model", "messages", "max_tokens", ...}`);
the text-generation pipeline answers it with a `chat.completion` object. Streaming, tools, logprobs
and response formats are refused with a 400 naming the field.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Dict, List, Mapping, Tuple

from api_inference_community import __version__
from api_inference_community.errors import InvalidInput

#: request fields honoured, and the generation parameter each one becomes
MAPPED = {"max_tokens": "max_new_tokens", "temperature": "temperature", "top_p": "top_p", "seed": "seed"}
#: request fields refused unless left at their neutral value
UNSUPPORTED: Dict[str, Tuple[Any, ...]] = {
    "stream": (None, False),
    "stream_options": (None,),
    "tools": (None, []),
    "tool_choice": (None, "none", "auto"),
    "tool_prompt": (None,),
    "response_format": (None,),
    "logprobs": (None, False),
    "top_logprobs": (None, 0),
    "logit_bias": (None, {}),
    "frequency_penalty": (None, 0, 0.0),
    "presence_penalty": (None, 0, 0.0),
    "reasoning_effort": (None,),
}


def is_chat_request(inputs: Any) -> bool:
    return isinstance(inputs, dict) and "messages" in inputs


def message_text(message: Mapping[str, Any], where: str) -> str:
    """A message's content as text: a string, or the text parts of a list of parts."""
    content = message.get("content")
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    texts = []
    for index, part in enumerate(content):
        if part.get("type") != "text":
            raise InvalidInput(f"`{where}.content[{index}]`: only text parts are supported by this model")
        texts.append(part.get("text") or "")
    return "".join(texts)


def messages(items: List[Mapping[str, Any]], where: str) -> List[Dict[str, str]]:
    """Chat messages as a chat template takes them: `{"role", "content"}` with text content."""
    found = []
    for index, message in enumerate(items):
        place = f"{where}[{index}]"
        if message.get("tool_calls"):
            raise InvalidInput(f"`{place}.tool_calls`: not supported by this server")
        found.append({"role": message["role"], "content": message_text(message, place)})
    if not found:
        raise InvalidInput(f"`{where}`: at least one message is needed")
    return found


def parse(request: Mapping[str, Any]) -> Tuple[List[Dict[str, str]], Dict[str, Any], int, List[str]]:
    """(messages, generation parameters, n, stop strings) of a chat-completion request."""
    for name, neutral in UNSUPPORTED.items():
        if request.get(name) not in neutral:
            raise InvalidInput(f"`inputs.{name}`: not supported by this server")
    generation = {target: request[name] for name, target in MAPPED.items() if request.get(name) is not None}
    stop = request.get("stop") or []
    stops = [stop] if isinstance(stop, str) else list(stop)
    return messages(request["messages"], "inputs.messages"), generation, int(request.get("n") or 1), stops


def cut_at_stop(text: str, stop: List[str]) -> Tuple[str, bool]:
    """The text up to the first stop string (which OpenAI-style answers leave out), and whether one was found."""
    cuts = [text.index(s) for s in stop if s and s in text]
    return (text[: min(cuts)], True) if cuts else (text, False)


def completion(
    model: str, completions: List[Tuple[str, int, bool]], prompt_tokens: int, stop: List[str]
) -> Dict[str, Any]:
    """The `chat.completion` answer: one choice per (text, tokens generated, whether the budget ran out)."""
    choices = []
    for index, (text, _, exhausted) in enumerate(completions):
        content, stopped = cut_at_stop(text, stop)
        reason = "length" if exhausted and not stopped else "stop"
        message = {"role": "assistant", "content": content}
        choices.append({"index": index, "message": message, "finish_reason": reason, "logprobs": None})
    generated = sum(tokens for _, tokens, _ in completions)
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": f"api-inference-community-{__version__}",
        "choices": choices,
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": generated,
            "total_tokens": prompt_tokens + generated,
        },
    }
