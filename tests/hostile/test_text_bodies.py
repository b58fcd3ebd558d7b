"""Hostile JSON and text bodies against a live sentence_transformers server (feature-extraction).

Each case: the status, a JSON `error` of bounded size, the server's peak memory, and that it keeps
answering (/health fast, the normal request's usual embedding).
"""

from __future__ import annotations

from typing import Dict

import orjson
import pytest
from hostile_payloads import huge_list, many_parameters, nested_arrays, nested_parameters, picture, spaced_text
from hostile_probes import HEALTH_UNDER_ATTACK_S, Observed, Target, assert_json_error, observe

JSON = {"content-type": "application/json"}


def post(target: Target, body: bytes, headers: Dict[str, str] = JSON, sample_health: bool = False) -> Observed:
    return observe(target, data=body, headers=headers, sample_health=sample_health)


# ---------------------------------------------------------------- a 2 MB list of numbers


@pytest.fixture(scope="module")
def huge_list_attack(st_target: Target) -> Observed:
    """`{"inputs": [1, 1, ...]}`, 2 MiB: about 700,000 items that are not texts (MAX_INPUTS is 64)."""
    return post(st_target, huge_list(2 * 1024 * 1024), sample_health=True)


# Guards against a defect that was: MAX_INPUTS is checked only after pydantic validated the whole list, and
# the 400 carries one message per bad item, unbounded; the validation runs while /health waits.
def test_huge_list_is_refused_with_a_short_error(huge_list_attack: Observed, st_target: Target) -> None:
    assert_json_error(huge_list_attack.answer, (400, 413))
    st_target.assert_still_serving()


# Guards against a defect that was: MAX_INPUTS is checked only after pydantic validated the whole list, and
# the 400 carries one message per bad item, unbounded; the validation runs while /health waits.
def test_huge_list_costs_little(huge_list_attack: Observed) -> None:
    assert huge_list_attack.answer.seconds <= 1.0, huge_list_attack.describe()
    assert huge_list_attack.memory_mib <= 128, huge_list_attack.describe()


# Guards against a defect that was: MAX_INPUTS is checked only after pydantic validated the whole list, and
# the 400 carries one message per bad item, unbounded; the validation runs while /health waits.
def test_huge_list_leaves_health_answering(huge_list_attack: Observed) -> None:
    assert huge_list_attack.worst_health_s <= HEALTH_UNDER_ATTACK_S, huge_list_attack.describe()


# ---------------------------------------------------------------- parameters


# Guards against a defect that was: error bodies are not capped: one message per unknown parameter.
def test_fifty_thousand_unknown_parameters(st_target: Target) -> None:
    observed = post(st_target, many_parameters(50_000))
    observed.assert_error((400, 413), memory_bound=128)
    assert observed.answer.seconds <= 1.0, observed.describe()
    st_target.assert_still_serving()


@pytest.mark.parametrize("depth", [500, 100_000])
def test_deeply_nested_parameters(st_target: Target, depth: int) -> None:
    post(st_target, nested_parameters(depth)).assert_error((400, 413))
    st_target.assert_still_serving()


@pytest.mark.parametrize(
    "parameters",
    [{"candidate_labels": [f"label {i}" for i in range(1000)]}, {"max_new_tokens": 10**9}],
    ids=["1000-candidate-labels", "max-new-tokens-1e9"],
)
def test_parameters_of_other_tasks(st_target: Target, parameters: dict) -> None:
    """feature-extraction takes neither: refused by name, without running the model."""
    document = post(st_target, orjson.dumps({"inputs": "a sentence", "parameters": parameters})).assert_error((400,))
    assert next(iter(parameters)) in str(document["error"])
    st_target.assert_still_serving()


# Guards against a defect that was: error bodies are not capped: a pipeline's message echoes the client's 1 MB
# value in full.
def test_huge_parameter_value(st_target: Target) -> None:
    body = orjson.dumps({"inputs": "a sentence", "parameters": {"prompt_name": "x" * 1_000_000}})
    post(st_target, body).assert_error((400, 413))
    st_target.assert_still_serving()


# ---------------------------------------------------------------- malformed JSON


def invalid_json_as_text(body: bytes, name: str) -> object:
    return pytest.param(body, id=name)


@pytest.mark.parametrize(
    "body",
    [
        invalid_json_as_text(b"[1, 2", "open-array"),
        invalid_json_as_text(b'"open string', "open-string"),
        invalid_json_as_text(nested_arrays(100_000, closed=False), "100k-open-brackets"),
        invalid_json_as_text(nested_arrays(100_000), "100k-levels-deep"),
        pytest.param(b'{"inputs": "a sentence"', id="open-object"),
    ],
)
def test_invalid_json_sent_as_json_is_a_400(st_target: Target, body: bytes) -> None:
    post(st_target, body).assert_error((400,))
    st_target.assert_still_serving()


def test_deeply_nested_inputs_within_the_parser_limit(st_target: Target) -> None:
    post(st_target, b'{"inputs": ' + nested_arrays(500) + b"}").assert_error((400,))
    st_target.assert_still_serving()


@pytest.mark.parametrize(
    "body, headers",
    [
        (b"\xff\xfe not text \xc3\x28", {"content-type": "text/plain"}),
        (b'{"inputs": "\xff\xfe"}', JSON),
        (b'{"inputs": "\\ud800 lone surrogate"}', JSON),
    ],
    ids=["raw-text", "in-a-json-string", "lone-surrogate-escape"],
)
def test_invalid_utf8(st_target: Target, body: bytes, headers: Dict[str, str]) -> None:
    post(st_target, body, headers).assert_error((400,))
    st_target.assert_still_serving()


def test_image_bytes_to_a_text_task(st_target: Target) -> None:
    post(st_target, picture(), {"content-type": "image/png"}).assert_error((400, 415))
    st_target.assert_still_serving()


# ---------------------------------------------------------------- huge strings


# Guards against a defect that was: no string-length pre-check: a 2 MB text is tokenized in full before truncation.
def test_huge_string(st_target: Target) -> None:
    """A 2 MB text of a million words: refused, or embedded (truncated) at about the cost of a normal text."""
    observed = post(st_target, orjson.dumps({"inputs": spaced_text(1_000_000)}))
    if observed.answer.status == 200:
        assert len(orjson.loads(observed.answer.body)) == 384
        assert observed.memory_mib <= 256, observed.describe()
    else:
        observed.assert_error((400, 413), memory_bound=256)
    assert observed.answer.seconds <= 1.5, observed.describe()
    st_target.assert_still_serving()
