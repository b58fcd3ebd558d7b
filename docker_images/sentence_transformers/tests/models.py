"""The models the contract tests serve, one per task: the real all-MiniLM-L6-v2, by path."""

from st_testing import bundled_model_dir

from api_inference_community.contract import ModelsByTask

TEST_MODELS: ModelsByTask = {
    "feature-extraction": bundled_model_dir(),
    "sentence-similarity": bundled_model_dir(),
}
