"""Request validation, fuzzed in-process: for every task of the registry, any body gives a Payload or a 4xx.

`parse_payload` is the whole of what the server does with a body before it is queued (JSON,
envelope, parameters, options, base64, image and audio decoding): whatever it raises other than
a 4xx `APIError` would reach the client as a 500.
"""

from __future__ import annotations

import base64
import json

import pytest
from fuzz_strategies import any_bytes, base64_media_bodies, fuzz_settings, image_files, json_bodies, media_bodies
from hypothesis import given
from hypothesis import strategies as st

from api_inference_community.errors import APIError
from api_inference_community.http.responses import dumps
from api_inference_community.tasks.registry import TASKS, InputKind, TaskSpec
from api_inference_community.tasks.validation import Limits, Payload, parse_payload

pytestmark = pytest.mark.fuzz

LIMITS = Limits(max_inputs=16, max_image_pixels=4_000_000, max_audio_seconds=5.0, sampling_rate=16000)
MEDIA_TASKS = sorted(name for name, spec in TASKS.items() if spec.input_kind in (InputKind.IMAGE, InputKind.AUDIO))
IMAGE_FIELD_TASKS = sorted(  # JSON inputs holding a base64 image (e.g. visual question answering)
    name for name, spec in TASKS.items() if spec.inputs and "image" in spec.inputs.json_schema().get("properties", {})
)
JSON_KINDS = (InputKind.TEXT, InputKind.STRUCTURED, InputKind.TABULAR)


def accepted_or_refused(body: bytes, spec: TaskSpec, declared_json: bool = False) -> None:
    """`body` is validated into a Payload, or refused with a client error whose body is JSON."""
    try:
        payload = parse_payload(body, spec, LIMITS, declared_json=declared_json)
    except APIError as error:
        assert 400 <= error.status_code < 500, f"{type(error).__name__} ({error.status_code}): {error.message}"
        assert error.message, "an error without a message"
        dumps(error.body())  # what the client receives must encode as JSON
        return
    assert isinstance(payload, Payload)
    assert isinstance(payload.parameters, dict)
    if spec.input_kind in JSON_KINDS:
        assert spec.count_items(payload.inputs, payload.parameters) <= LIMITS.max_inputs


@pytest.mark.parametrize("task", sorted(TASKS))
@fuzz_settings(20)
@given(body=json_bodies(), declared_json=st.booleans())
def test_json_documents(task, body, declared_json):
    accepted_or_refused(body, TASKS[task], declared_json)


@pytest.mark.parametrize("task", sorted(TASKS))
@fuzz_settings(10)
@given(body=any_bytes(), declared_json=st.booleans())
def test_arbitrary_bytes(task, body, declared_json):
    accepted_or_refused(body, TASKS[task], declared_json)


@pytest.mark.parametrize("task", MEDIA_TASKS)
@fuzz_settings(12)
@given(data=st.data())
def test_media_files_whole_and_damaged(task, data):
    spec = TASKS[task]
    kind = spec.input_kind.value
    body = data.draw(st.one_of(media_bodies(kind), base64_media_bodies(kind)), label="body")
    accepted_or_refused(body, spec)


@pytest.mark.parametrize("task", IMAGE_FIELD_TASKS)
@fuzz_settings(12)
@given(image=image_files(), question=st.text(max_size=20), flat=st.booleans())
def test_images_inside_json_inputs(task, image, question, flat):
    encoded = base64.b64encode(image).decode("ascii")
    document = (
        {"inputs": encoded, "question": question} if flat else {"inputs": {"image": encoded, "question": question}}
    )
    accepted_or_refused(json.dumps(document).encode(), TASKS[task])
