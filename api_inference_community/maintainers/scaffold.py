"""New library folders, generated from the task registry and the `docker_images/common` template.

Task-dependent files (one pipeline stub per task, `app/main.py`, `app/pipelines/__init__.py`,
`tests/models.py`) are generated; the others are copied from the template with its folder name
replaced. `docker_images/common` itself is the output for every task, kept in step by a test.
"""

from __future__ import annotations

import difflib
import keyword
import re
import textwrap
from pathlib import Path
from typing import Dict, List, Sequence

from ..hub.libraries import IMAGES_DIR, TEMPLATE, folder_name
from ..tasks.registry import TASKS, InputKind, TaskSpec
from .pipeline_docs import DOCS

COPIED = ("requirements.txt", "app/__init__.py", "tests/conftest.py", "tests/test_contract.py")
TASKS_LABEL = 'org.huggingface.api-inference.tasks="{}"'
LINE_LENGTH = 120  # the project's ruff line length: generated files must pass `ruff format --check`
TYPING_NAMES = ("Any", "Dict", "List", "Tuple", "Union")


STUB = '''"""The {task} pipeline: fill in `__init__` and `__call__`."""

{imports}


class {cls}(Pipeline):
    """Answers {task} requests.

{sections}
    """

{sampling_rate}    def __init__(self, model_id: str) -> None:
        # `model_id` is a local folder holding the model's files: load the model from it here.
        self.model_dir = model_id

    def __call__(self, inputs: {inputs}, **parameters: Any) -> {output}:
{raise_not_implemented}
'''
MAIN = '''"""The {library} image.

ALLOWED_TASKS stays a literal dict: tools read it without importing the library.
"""

from typing import Dict, Type

from api_inference_community import Pipeline, create_app
from api_inference_community.compat.pipeline_getter import pipeline_getter
from app.pipelines import (
{names})

ALLOWED_TASKS: Dict[str, Type[Pipeline]] = {{
{entries}}}

app = create_app(ALLOWED_TASKS)
get_pipeline = pipeline_getter(ALLOWED_TASKS)  # for tests written for the upstream package
'''
PIPELINES_INIT = '''"""The pipelines of the {library} image, one per task."""

{imports}
__all__ = [
{names}]
'''
MODELS = '''"""The models the contract tests serve, one per task (tests run offline, see CONTRIBUTING.md).

A value is a local folder, a Hub id found in the cache (HF_HOME), or a function that builds a
small model into the folder it is given and returns its path.
"""

from api_inference_community.testing.contract import ModelsByTask, placeholder_model

# Replace each placeholder with a small model of its task.
TEST_MODELS: ModelsByTask = {{
{entries}}}
'''
SAMPLING_RATE = "    sampling_rate = 16000  # Hz the model expects; the core resamples request audio to it\n\n"


class ScaffoldError(ValueError):
    """A library cannot be scaffolded as asked; the message says why."""


def class_name(task: str) -> str:
    """The class of a task's pipeline: text2text-generation -> Text2TextGenerationPipeline."""
    return task.title().replace("-", "") + "Pipeline"


def module_name(task: str) -> str:
    return task.replace("-", "_")


def check_tasks(tasks: Sequence[str]) -> List[str]:
    """The tasks, sorted and deduplicated; ScaffoldError names close matches of unknown ones."""
    if not tasks:
        raise ScaffoldError("give at least one task (--task)")
    for task in tasks:
        if task not in TASKS:
            close = difflib.get_close_matches(task, TASKS, n=3, cutoff=0.75)
            hint = f"did you mean {', '.join(close)}?" if close else f"known tasks: {', '.join(sorted(TASKS))}"
            raise ScaffoldError(f"unknown task `{task}`; {hint}")
    return sorted(set(tasks))


def check_library(library: str) -> str:
    """The library's folder name; ScaffoldError unless it is a plain lowercase identifier."""
    name = folder_name(library)
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name) or keyword.iskeyword(name):
        raise ScaffoldError(f"`{library}` cannot be a folder name: use letters, digits and _ (e.g. my_library)")
    return name


# --------------------------------------------------------------- rendering


def _section(title: str, text: str) -> str:
    """A docstring section: its title, then its text wrapped at the stub's indentation."""
    body = textwrap.fill(text, LINE_LENGTH - 4, initial_indent=" " * 8, subsequent_indent=" " * 8)
    return f"    {title}:\n{body}"


def _parameters_doc(spec: TaskSpec) -> str:
    names = ", ".join(f"`{name}`" for name in spec.parameters.model_fields)
    if not spec.open_parameters:
        return f"{names or 'none'}, validated by the core (schemas.py); only those the client sent."
    known = f"{names}, validated by the core (schemas.py), and any other" if names else "Any"
    return known + (
        " the client sends, as is: raise `api_inference_community.errors.InvalidInput` (a 400) for one it cannot take."
    )


def _imports(annotations: str) -> str:
    typing = [name for name in TYPING_NAMES if re.search(rf"\b{name}\b", annotations)]
    lines = ["from __future__ import annotations", "", f"from typing import {', '.join(typing)}", ""]
    third_party = [("import numpy as np", "np."), ("from PIL import Image", "Image.")]
    extra = [line for line, marker in third_party if marker in annotations]
    return "\n".join(lines + extra + ([""] if extra else []) + ["from api_inference_community import Pipeline"])


def _raise(message: str) -> str:
    """`raise NotImplementedError(message)` as ruff formats it."""
    one_line = f'        raise NotImplementedError("{message}")'
    if len(one_line) <= LINE_LENGTH:
        return one_line
    inner = f'            "{message}"'
    if len(inner) <= LINE_LENGTH:
        return f"        raise NotImplementedError(\n{inner}\n        )"
    head, tail = message.split(": ", 1)
    return f'        raise NotImplementedError(\n            "{head}: "\n            "{tail}"\n        )'


def render_pipeline(task: str, library: str) -> str:
    """The stub of `task`'s pipeline: its docstring states the exact input and output."""
    spec, doc, cls, module = TASKS[task], DOCS[task], class_name(task), module_name(task)
    sections = [
        _section("Receives", f"`inputs`: {doc.receives}"),
        _section("Parameters", _parameters_doc(spec)),
        _section("Returns", doc.returns),
    ]
    if spec.batchable:
        batching = "Implement `batch(list_of_inputs, **parameters)` to answer several requests in one model call: "
        sections.append(
            _section("Batching", batching + "one output per input, in order. It turns dynamic batching on.")
        )
    message = f"{cls}.__call__ is not implemented: fill in {IMAGES_DIR}/{library}/app/pipelines/{module}.py"
    return STUB.format(
        task=task,
        imports=_imports(f"{doc.inputs} {doc.output} Any"),
        cls=cls,
        sections="\n\n".join(sections),
        sampling_rate=SAMPLING_RATE if spec.input_kind == InputKind.AUDIO else "",
        inputs=doc.inputs,
        output=doc.output,
        raise_not_implemented=_raise(message),
    )


def render_main(library: str, tasks: Sequence[str]) -> str:
    names = "".join(f"    {name},\n" for name in sorted(map(class_name, tasks)))
    entries = "".join(f'    "{task}": {class_name(task)},\n' for task in tasks)
    return MAIN.format(library=library, names=names, entries=entries)


def render_pipelines_init(library: str, tasks: Sequence[str]) -> str:
    imports = "".join(
        f"from app.pipelines.{module_name(t)} import {class_name(t)}\n" for t in sorted(tasks, key=module_name)
    )
    names = "".join(f'    "{class_name(task)}",\n' for task in tasks)
    return PIPELINES_INIT.format(library=library, imports=imports, names=names)


def render_models(tasks: Sequence[str]) -> str:
    return MODELS.format(entries="".join(f'    "{task}": placeholder_model,\n' for task in tasks))


def generated_files(library: str, tasks: Sequence[str]) -> Dict[str, str]:
    """The task-dependent files of a library folder: relative path -> content."""
    files = {f"app/pipelines/{module_name(task)}.py": render_pipeline(task, library) for task in tasks}
    files["app/pipelines/__init__.py"] = render_pipelines_init(library, tasks)
    files["app/main.py"] = render_main(library, tasks)
    files["tests/models.py"] = render_models(tasks)
    return files


def copied_files(library: str, template_dir: Path) -> Dict[str, str]:
    """The template's task-independent files, its folder name replaced by the library's."""
    old, new = f"{IMAGES_DIR}/{TEMPLATE}", f"{IMAGES_DIR}/{library}"
    return {path: (Path(template_dir) / path).read_text(encoding="utf-8").replace(old, new) for path in COPIED}


def render_dockerfile(library: str, tasks: Sequence[str], template_dir: Path) -> str:
    """The library's Dockerfile: the template's, with the library's name, folder and tasks."""
    text = (Path(template_dir) / "Dockerfile").read_text(encoding="utf-8")
    for old, new in (
        (f"{IMAGES_DIR}/{TEMPLATE}", f"{IMAGES_DIR}/{library}"),
        (f"api-inference/{TEMPLATE}", f"api-inference/{library}"),
        (f'"{TEMPLATE} models', f'"{library} models'),
        (f"LIBRARY_NAME={TEMPLATE}", f"LIBRARY_NAME={library}"),
        (TASKS_LABEL.format("TASKS"), TASKS_LABEL.format(",".join(sorted(tasks)))),
    ):
        if old not in text:
            raise ScaffoldError(f"the template Dockerfile lost its `{old}`")
        text = text.replace(old, new)
    return text


def create(root: Path, library: str, tasks: Sequence[str], template_dir: Path) -> Path:
    """Write `root/docker_images/<library>/` for `tasks`; refuses an existing folder."""
    name, tasks = check_library(library), check_tasks(tasks)
    if name == TEMPLATE:
        raise ScaffoldError(f"`{TEMPLATE}` is the template's folder; pick another name")
    target = Path(root) / IMAGES_DIR / name
    if target.exists():
        raise ScaffoldError(f"{target} exists already; pick another name or remove it")
    files = {**copied_files(name, template_dir), **generated_files(name, tasks)}
    files["Dockerfile"] = render_dockerfile(name, tasks, template_dir)
    _write(target, files)
    return target


def refresh_template(root: Path) -> List[str]:
    """Rewrite the generated files of `docker_images/common` (every task) from the registry."""
    files = generated_files(TEMPLATE, sorted(TASKS))
    _write(Path(root) / IMAGES_DIR / TEMPLATE, files)
    return sorted(files)


def _write(folder: Path, files: Dict[str, str]) -> None:
    for path, content in sorted(files.items()):
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(content, encoding="utf-8")
