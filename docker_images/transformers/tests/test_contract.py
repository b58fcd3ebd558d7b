"""The Inference API contract, shared from the core, run on this image's pipelines and tiny models."""

from models import TEST_MODELS

from api_inference_community.testing.contract import ContractSuite
from app.main import ALLOWED_TASKS


class TestContract(ContractSuite):
    allowed_tasks = ALLOWED_TASKS
    models = TEST_MODELS
