"""The deployment files: docker-compose.yml against the Compose Specification, and the
promises of docker-compose.yml and the Dockerfile that a schema cannot check.

No Docker engine runs here, so nothing is built or started: the files are read.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema.validators import (  # type: ignore[import-untyped,unused-ignore]
    Draft7Validator,
    validator_for,
)

from tests.conftest import SHARED_DATA

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE_SCHEMA = SHARED_DATA / "compose-spec" / "compose-spec.json"
# `${NAME:?message}`: Compose stops with the message when NAME is unset or empty.
REQUIRED_VARIABLE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*:\?[^}]+\}")


def _compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(loaded, dict)
    return loaded


def _services() -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = _compose()["services"]
    return services


def _environment(service: dict[str, Any]) -> dict[str, str]:
    raw = service.get("environment") or {}
    if isinstance(raw, list):  # the `- KEY=VALUE` form
        return dict(item.partition("=")[::2] for item in raw)
    return {str(key): str(value) for key, value in raw.items()}


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = (line.strip() for line in text.splitlines())
    return [(word.upper(), rest.strip())
            for word, _, rest in (line.partition(" ") for line in lines
                                  if line and not line.startswith("#"))]


def test_compose_file_matches_the_compose_specification() -> None:
    if not COMPOSE_SCHEMA.exists():
        pytest.skip(f"the Compose Specification schema is expected at {COMPOSE_SCHEMA}")
    schema = json.loads(COMPOSE_SCHEMA.read_text())
    # The spec names draft 7 as `https://json-schema.org/draft-07/schema`, a spelling that
    # jsonschema does not know (it warns, and would pick the newest draft): say draft 7.
    validator_class = validator_for(schema, default=Draft7Validator)
    validator_class.check_schema(schema)
    errors = [f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
              for e in validator_class(schema).iter_errors(_compose())]
    assert errors == []


def test_services_wait_for_a_healthy_database() -> None:
    waiting = {name: service["depends_on"] for name, service in _services().items()
               if "db" in service.get("depends_on", ())}
    assert waiting, "no service depends on db"
    for name, depends_on in waiting.items():
        assert isinstance(depends_on, dict), f"{name}: depends_on needs conditions"
        assert depends_on["db"].get("condition") == "service_healthy", name


def test_guardian_and_worker_start_after_migrations_succeed() -> None:
    services = _services()
    assert "guardian" in services["migrate"]["command"]
    assert services["migrate"]["restart"] == "no"
    for name in ("guardian", "worker"):
        assert services[name]["image"] == services["migrate"]["image"], name
        migrate = services[name]["depends_on"]["migrate"]
        assert migrate.get("condition") == "service_completed_successfully", name
    assert "--no-migrate" in services["guardian"]["command"]


def test_database_and_api_have_healthchecks() -> None:
    services = _services()
    for name in ("db", "guardian"):
        healthcheck = services[name].get("healthcheck", {})
        assert healthcheck.get("test") and not healthcheck.get("disable"), name
    assert "pg_isready" in " ".join(services["db"]["healthcheck"]["test"])
    assert "/health" in " ".join(services["guardian"]["healthcheck"]["test"])


def test_database_keeps_its_data_in_the_pgdata_volume() -> None:
    assert "pgdata" in (_compose().get("volumes") or {})
    mounts = _services()["db"].get("volumes", [])
    sources = [m.split(":", 1)[0] if isinstance(m, str) else m.get("source") for m in mounts]
    assert "pgdata" in sources


def test_no_service_holds_a_literal_secret() -> None:
    for name, service in _services().items():
        for key, value in _environment(service).items():
            if key == "GUARDIAN_SECRETS_FILE":
                # A path to a Compose secret, not a secret.
                assert value.startswith("/run/secrets/"), f"{name}: {key}"
            elif "PASSWORD" in key.upper() or "SECRET" in key.upper():
                assert REQUIRED_VARIABLE.fullmatch(value), f"{name}: {key} is not ${{VAR:?...}}"
            # A password inside a URL (scheme://user:password@host) must be one as well.
            for password in re.findall(r"://[^/:@\s]+:([^@\s]+)@", value):
                assert REQUIRED_VARIABLE.fullmatch(password), f"{name}: {key} has a password"


def test_dockerfile_installs_cpu_torch_before_the_package() -> None:
    runs = [args for word, args in _dockerfile_instructions() if word == "RUN"]
    torch = [i for i, args in enumerate(runs)
             if "torch==2.13.0" in args
             and "--index-url https://download.pytorch.org/whl/cpu" in args]
    package = [i for i, args in enumerate(runs) if re.search(r"pip install \.(\s|$)", args)]
    assert torch and package, runs
    assert torch[0] < package[0]


def test_dockerfile_runs_guardian_as_a_non_root_user() -> None:
    instructions = _dockerfile_instructions()
    start = [args for word, args in instructions if word in ("ENTRYPOINT", "CMD")]
    assert start, "no CMD or ENTRYPOINT"
    argv = json.loads(start[0]) if start[0].startswith("[") else shlex.split(start[0])
    assert argv[0] == "guardian"
    users = [args for word, args in instructions if word == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert any(word == "HEALTHCHECK" and "/health" in args for word, args in instructions)


def test_links_models_and_channel_secrets_are_set_for_every_guardian_container() -> None:
    services = _services()
    for name in ("guardian", "worker"):
        env = _environment(services[name])
        assert REQUIRED_VARIABLE.fullmatch(env["GUARDIAN_PUBLIC_URL"]), name
        mounts = [str(v).split(":")[0] for v in services[name].get("volumes", [])]
        assert "models" in mounts and env["GUARDIAN_MODELS_DIR"] == "/app/models", name
        assert "channels" in services[name].get("secrets", []), name
        assert env["GUARDIAN_SECRETS_FILE"] == "/run/secrets/channels", name
    assert "models" in (_compose().get("volumes") or {})
    assert _compose()["secrets"]["channels"]["file"] == "./secrets/channels.env"
