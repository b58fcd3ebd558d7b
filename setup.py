from setuptools import find_packages, setup

setup(
    name="api-inference-community",
    version="0.1.0",
    description="Serve any ML library's models over the Hugging Face Inference API contract",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    packages=find_packages(include=["api_inference_community", "api_inference_community.*"]),
    package_data={
        # the inference widget's page templates, script and style sheet, served by the gateway
        "api_inference_community.gateway.widget": ["templates/*.html", "static/*.js", "static/*.css"],
        # the usage dashboard's style sheet and the template of new schema migrations
        "api_inference_community.gateway.usage": ["static/*.css", "migrations/script.py.mako"],
    },
    python_requires=">=3.9",
    install_requires=[
        "starlette>=1.0,<2",
        "uvicorn>=0.30",
        "pydantic>=2.5,<3",
        "orjson>=3.9",
        "numpy>=1.24",
        "pillow>=10",
        "av>=12",
        "huggingface_hub>=0.30",
        "prometheus_client>=0.20",
        "anyio>=4",
        # uvicorn's faster event loop and HTTP parser, picked up when installed
        "uvloop>=0.19; sys_platform != 'win32' and platform_python_implementation == 'CPython'",
        "httptools>=0.6",
    ],
    extras_require={
        # api_inference_community.testing: the contract suite, examples, output checks, live servers
        "testing": ["pytest>=9", "httpx2>=2", "requests>=2.31"],
        # the Docker harness of tests/docker
        "docker": ["docker>=7"],
        # lint and type check
        "dev": ["ruff>=0.6", "mypy>=1.10"],
        # the gateway: its proxy's HTTP client, the Docker SDK of its docker and swarm backends, and
        # the tokens and usage database (gateway/usage/): SQLite, or PostgreSQL by DATABASE_URL
        "gateway": ["httpx2>=2", "docker>=7", "sqlalchemy>=2.0,<3", "alembic>=1.13", "psycopg[binary]>=3.1"],
    },
    entry_points={"console_scripts": ["api-inference-community=api_inference_community.maintainers.cli:main"]},
)
