"""Settings read from the environment, validated once at start.

Every setting is a ``GUARDIAN_*`` variable; `SETTINGS` below is the single list of them
(name, default, one-line help), which the README documents and a test keeps in step.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from guardian.config.mqtt_url import parse_mqtt_url
from guardian.config.secrets import SecretsFileError, read_secrets_file
from guardian.errors import ConfigError

Environment = Literal["development", "production"]
ScorerChoice = Literal["auto", "lite", "detoxify"]
DetoxifyVariant = Literal["original", "unbiased", "multilingual", "original-small",
                          "unbiased-small"]
DETOXIFY_VARIANTS: tuple[str, ...] = ("original", "unbiased", "multilingual", "original-small",
                                      "unbiased-small")
DetoxifyRuntime = Literal["onnx", "torch"]
DETOXIFY_RUNTIMES: tuple[str, ...] = ("onnx", "torch")

# The fallback secret of development mode: it signs nothing worth protecting on a laptop,
# and production refuses to start with it.
DEVELOPMENT_SECRET = "development-only-secret-do-not-use-in-production"  # noqa: S105
MIN_SECRET_LENGTH = 32


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("GUARDIAN_ENV", "production",
            "`development` or `production`; production refuses a missing or default secret."),
    Setting("GUARDIAN_DATABASE_URL", "sqlite:///var/guardian.db",
            "SQLite file (`sqlite:///PATH`) or PostgreSQL (`postgresql://user@host:port/db`)."),
    Setting("GUARDIAN_POLICIES_DIR", "policies",
            "Directory of the duty policy YAML files."),
    Setting("GUARDIAN_SECRETS_FILE", "",
            "File of NAME=value lines where channel secrets `{env:NAME}` are also looked up "
            "(the environment wins); re-read when it changes."),
    Setting("GUARDIAN_SECRET_KEY", "",
            f"Key for signed links; at least {MIN_SECRET_LENGTH} characters in production."),
    Setting("GUARDIAN_SCORER", "auto",
            "Harassment scorer: `auto` (Detoxify when its weights are present, else lite), "
            "`lite` or `detoxify`."),
    Setting("GUARDIAN_DETOXIFY_VARIANT", "multilingual",
            "Detoxify model: original, unbiased, multilingual, original-small, unbiased-small."),
    Setting("GUARDIAN_MODELS_DIR", "var/models",
            "Where `guardian models pull` puts model weights, and where they are looked for."),
    Setting("GUARDIAN_DETOXIFY_CHECKPOINT", "",
            "Offline installs: a Detoxify checkpoint file (use with the config directory)."),
    Setting("GUARDIAN_DETOXIFY_CONFIG_DIR", "",
            "Offline installs: directory with the model's config.json and tokenizer files."),
    Setting("GUARDIAN_DETOXIFY_QUANTIZE", "false",
            "`true` applies dynamic int8 quantisation (about twice as fast on CPU)."),
    Setting("GUARDIAN_DETOXIFY_RUNTIME", "onnx",
            "`onnx`: Detoxify exported to ONNX Runtime (faster; made by `guardian models "
            "pull`/`export`, or at first load); `torch`: the reference runtime."),
    Setting("GUARDIAN_SCORING_PROCESS", "false",
            "`true` scores in a process of its own (one per `serve` or `worker`), so scoring "
            "runs on another core; for machines with two cores or more."),
    Setting("GUARDIAN_SCORING_WAIT_MS", "20",
            "How long the worker lets new messages gather into one scoring batch."),
    Setting("GUARDIAN_POLICY_POLL_SECONDS", "2",
            "How often the service looks for changed policy files (SIGHUP reloads at once)."),
    Setting("GUARDIAN_HOST", "127.0.0.1", "Address `guardian serve` listens on."),
    Setting("GUARDIAN_PORT", "8080", "Port `guardian serve` listens on."),
    Setting("GUARDIAN_LOG_LEVEL", "INFO", "DEBUG, INFO, WARNING or ERROR."),
    Setting("GUARDIAN_MAX_BODY_BYTES", "1048576",
            "Largest request body accepted (larger gets 413)."),
    Setting("GUARDIAN_MAX_BATCH", "100", "Most messages in one ingest request."),
    Setting("GUARDIAN_MAX_TEXT_CHARS", "5000", "Longest message text accepted, in characters."),
    Setting("GUARDIAN_WORKER_BATCH", "32", "Messages a worker claims at once."),
    Setting("GUARDIAN_WORKER_POLL_SECONDS", "0.5",
            "How often an idle worker looks for work in the database."),
    Setting("GUARDIAN_LEASE_SECONDS", "60",
            "How long a claimed message stays with its worker before another may take it."),
    Setting("GUARDIAN_MAX_ATTEMPTS", "5",
            "Tries of one stage before a message is parked as failed (kept, never deleted)."),
    Setting("GUARDIAN_PUBLIC_URL", "",
            "The address staff reach Guardian at, for every link it builds (ack, flag, "
            "calendar); required in production, never 0.0.0.0; empty in development: "
            "`http://GUARDIAN_HOST:GUARDIAN_PORT`."),
    Setting("GUARDIAN_DELIVER_TO", "",
            "Send every notification to this apprise URL instead of people's channels "
            "(`{person}` is replaced by the staff id): development and staging."),
    Setting("GUARDIAN_TRUSTED_PROXIES", "",
            "Reverse proxies (addresses or networks, comma-separated) whose X-Forwarded-For "
            "and X-Forwarded-Proto are believed; empty: none."),
    Setting("GUARDIAN_TOKEN_CACHE_SECONDS", "5",
            "How long a checked token is trusted without asking the database again."),
    Setting("GUARDIAN_MQTT_REPLIES", "",
            "MQTT topic where replies to pages arrive, to acknowledge them "
            "(`mqtt://host:1883/guardian/replies/#`); empty: off."),
)
_DEFAULTS = {s.name: s.default for s in SETTINGS}


@dataclass(frozen=True)
class Settings:
    env: Environment = "production"
    database_url: str = _DEFAULTS["GUARDIAN_DATABASE_URL"]
    policies_dir: Path = Path("policies")
    secrets_file: Path | None = None
    secret_key: str = DEVELOPMENT_SECRET
    scorer: ScorerChoice = "auto"
    detoxify_variant: DetoxifyVariant = "multilingual"
    models_dir: Path = Path("var/models")
    detoxify_checkpoint: Path | None = None
    detoxify_config_dir: Path | None = None
    detoxify_quantize: bool = False
    detoxify_runtime: DetoxifyRuntime = "onnx"
    scoring_process: bool = False
    scoring_wait_ms: int = 20
    policy_poll_seconds: float = 2.0
    host: str = "127.0.0.1"
    port: int = 8080
    log_level: str = "INFO"
    max_body_bytes: int = 1024 * 1024
    max_batch: int = 100
    max_text_chars: int = 5000
    worker_batch: int = 32
    worker_poll_seconds: float = 0.5
    lease_seconds: float = 60.0
    max_attempts: int = 5
    token_cache_seconds: float = 5.0
    mqtt_replies: str = ""
    public_url: str = ""
    deliver_to: str = ""
    # Reverse proxies whose X-Forwarded-For/-Proto Guardian believes (addresses or
    # networks); empty: none, the peer's address is the client's.
    trusted_proxies: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    @property
    def development(self) -> bool:
        return self.env == "development"

    @property
    def base_url(self) -> str:
        """Where links in notifications point (no trailing slash)."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")


def _networks(name: str, raw: str, errors: list[str]) -> tuple[str, ...]:
    """Comma-separated IP addresses or networks (`10.0.0.0/8, ::1`), each checked."""
    found = []
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        try:
            found.append(str(ipaddress.ip_network(part, strict=False)))
        except ValueError:
            errors.append(f"{name}: `{part}` is not an IP address or network "
                          "(for example 10.0.0.2 or 10.0.0.0/8).")
    return tuple(found)


def _positive_int(name: str, raw: str, errors: list[str]) -> int:
    try:
        value = int(raw)
    except ValueError:
        errors.append(f"{name}: expected a whole number, got {raw!r}.")
        return 0
    if value <= 0:
        errors.append(f"{name}: must be greater than zero, got {value}.")
    return value


def _public_url(raw: str, errors: list[str], *, required: bool) -> str:
    raw = raw.strip()
    if not raw:
        if required:
            errors.append("GUARDIAN_PUBLIC_URL: production needs the address people open "
                          "Guardian's links at (e.g. https://guardian.ayuntamiento.es): "
                          "acknowledgement, flag and calendar links are built from it, "
                          "never from a request.")
        return raw
    if not raw.startswith(("http://", "https://")):
        errors.append(f"GUARDIAN_PUBLIC_URL: expected an http:// or https:// address, got "
                      f"{raw!r}.")
    elif urlsplit(raw).hostname in ("0.0.0.0", "::"):  # noqa: S104
        errors.append("GUARDIAN_PUBLIC_URL: 0.0.0.0 is where the server listens, not an "
                      "address a phone can open; give the town's public address.")
    return raw


def _positive_float(name: str, raw: str, errors: list[str]) -> float:
    try:
        value = float(raw)
    except ValueError:
        errors.append(f"{name}: expected a number of seconds, got {raw!r}.")
        return 0.0
    if value <= 0:
        errors.append(f"{name}: must be greater than zero, got {value}.")
    return value


def load_settings(environ: Mapping[str, str] | None = None, *, require_secret: bool = True
                  ) -> Settings:
    """Read and check every setting; raise `ConfigError` listing all problems at once.

    `require_secret=False` is for commands that sign nothing (scoring, tokens, migrations):
    they run in production without GUARDIAN_SECRET_KEY.
    """
    env_vars = os.environ if environ is None else environ
    known = {s.name for s in SETTINGS}
    errors: list[str] = []
    warnings: list[str] = []

    def get(name: str) -> str:
        return env_vars.get(name, _DEFAULTS[name]).strip()

    for name in sorted(env_vars):
        if name.startswith("GUARDIAN_") and name not in known and not name.startswith(
            "GUARDIAN_TEST_"
        ):
            warnings.append(f"{name} is not a Guardian setting and is ignored (a typo?).")

    env = get("GUARDIAN_ENV")
    if env not in ("development", "production"):
        errors.append(f"GUARDIAN_ENV: expected `development` or `production`, got {env!r}.")

    database_url = get("GUARDIAN_DATABASE_URL")
    if not database_url.startswith(("sqlite://", "sqlite+aiosqlite://", "postgresql://",
                                     "postgresql+asyncpg://", "postgres://")):
        errors.append(
            "GUARDIAN_DATABASE_URL: expected sqlite:///PATH or postgresql://USER@HOST:PORT/DB."
        )

    secret = get("GUARDIAN_SECRET_KEY")
    # Anything but an explicit `development` is held to production's rules.
    production = env != "development" and require_secret
    if not secret or secret == DEVELOPMENT_SECRET:
        if production:
            errors.append(
                "GUARDIAN_SECRET_KEY: production needs a secret of at least "
                f"{MIN_SECRET_LENGTH} characters (for example from "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`), "
                "or set GUARDIAN_ENV=development on a laptop."
            )
        secret = DEVELOPMENT_SECRET
    elif len(secret) < MIN_SECRET_LENGTH and production:
        errors.append(
            f"GUARDIAN_SECRET_KEY: is {len(secret)} characters long; production needs at "
            f"least {MIN_SECRET_LENGTH}."
        )

    scorer = get("GUARDIAN_SCORER")
    if scorer not in ("auto", "lite", "detoxify"):
        errors.append(f"GUARDIAN_SCORER: expected `auto`, `lite` or `detoxify`, got {scorer!r}.")
    variant = get("GUARDIAN_DETOXIFY_VARIANT")
    if variant not in DETOXIFY_VARIANTS:
        errors.append(f"GUARDIAN_DETOXIFY_VARIANT: expected one of {', '.join(DETOXIFY_VARIANTS)}"
                      f", got {variant!r}.")
    checkpoint = get("GUARDIAN_DETOXIFY_CHECKPOINT")
    config_dir = get("GUARDIAN_DETOXIFY_CONFIG_DIR")
    if bool(checkpoint) != bool(config_dir):
        errors.append("GUARDIAN_DETOXIFY_CHECKPOINT and GUARDIAN_DETOXIFY_CONFIG_DIR go "
                      "together: set both (an offline install) or neither.")
    quantize = get("GUARDIAN_DETOXIFY_QUANTIZE").lower()
    if quantize not in ("true", "false", "1", "0", "yes", "no"):
        errors.append(f"GUARDIAN_DETOXIFY_QUANTIZE: expected true or false, got {quantize!r}.")
    runtime = get("GUARDIAN_DETOXIFY_RUNTIME").lower()
    if runtime not in DETOXIFY_RUNTIMES:
        errors.append(f"GUARDIAN_DETOXIFY_RUNTIME: expected `onnx` or `torch`, got {runtime!r}.")
    scoring_process = get("GUARDIAN_SCORING_PROCESS").lower()
    if scoring_process not in ("true", "false", "1", "0", "yes", "no"):
        errors.append(f"GUARDIAN_SCORING_PROCESS: expected true or false, got "
                      f"{scoring_process!r}.")
    wait_raw = get("GUARDIAN_SCORING_WAIT_MS")
    scoring_wait_ms = int(wait_raw) if wait_raw.isdigit() else -1
    if scoring_wait_ms < 0:
        errors.append(f"GUARDIAN_SCORING_WAIT_MS: expected a whole number of milliseconds "
                      f"(0 or more), got {wait_raw!r}.")

    secrets_file = get("GUARDIAN_SECRETS_FILE")
    if secrets_file:
        try:
            read_secrets_file(secrets_file)  # read again when used; checked here at start
        except SecretsFileError as exc:
            errors.append(f"GUARDIAN_SECRETS_FILE: {exc}; fix it or unset the setting.")

    log_level = get("GUARDIAN_LOG_LEVEL").upper()
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        errors.append(f"GUARDIAN_LOG_LEVEL: expected DEBUG, INFO, WARNING or ERROR, got "
                      f"{log_level!r}.")

    port = _positive_int("GUARDIAN_PORT", get("GUARDIAN_PORT"), errors)
    if port > 65535:
        errors.append(f"GUARDIAN_PORT: must be at most 65535, got {port}.")

    mqtt_replies = get("GUARDIAN_MQTT_REPLIES")
    if mqtt_replies:
        try:
            parse_mqtt_url(mqtt_replies)
        except ValueError as exc:
            errors.append(f"GUARDIAN_MQTT_REPLIES: {exc}.")

    settings = Settings(
        env="development" if env == "development" else "production",
        database_url=database_url,
        policies_dir=Path(get("GUARDIAN_POLICIES_DIR")),
        secrets_file=Path(secrets_file) if secrets_file else None,
        secret_key=secret,
        scorer=scorer if scorer in ("lite", "detoxify") else "auto",  # type: ignore[arg-type]
        detoxify_variant=variant if variant in DETOXIFY_VARIANTS else "multilingual",  # type: ignore[arg-type]
        models_dir=Path(get("GUARDIAN_MODELS_DIR")),
        detoxify_checkpoint=Path(checkpoint) if checkpoint else None,
        detoxify_config_dir=Path(config_dir) if config_dir else None,
        detoxify_quantize=quantize in ("true", "1", "yes"),
        detoxify_runtime="torch" if runtime == "torch" else "onnx",
        scoring_process=scoring_process in ("true", "1", "yes"),
        scoring_wait_ms=max(scoring_wait_ms, 0),
        policy_poll_seconds=_positive_float("GUARDIAN_POLICY_POLL_SECONDS",
                                            get("GUARDIAN_POLICY_POLL_SECONDS"), errors),
        host=get("GUARDIAN_HOST"),
        port=port,
        log_level=log_level,
        max_body_bytes=_positive_int("GUARDIAN_MAX_BODY_BYTES", get("GUARDIAN_MAX_BODY_BYTES"),
                                     errors),
        max_batch=_positive_int("GUARDIAN_MAX_BATCH", get("GUARDIAN_MAX_BATCH"), errors),
        max_text_chars=_positive_int("GUARDIAN_MAX_TEXT_CHARS", get("GUARDIAN_MAX_TEXT_CHARS"),
                                     errors),
        worker_batch=_positive_int("GUARDIAN_WORKER_BATCH", get("GUARDIAN_WORKER_BATCH"), errors),
        worker_poll_seconds=_positive_float("GUARDIAN_WORKER_POLL_SECONDS",
                                            get("GUARDIAN_WORKER_POLL_SECONDS"), errors),
        lease_seconds=_positive_float("GUARDIAN_LEASE_SECONDS", get("GUARDIAN_LEASE_SECONDS"),
                                      errors),
        max_attempts=_positive_int("GUARDIAN_MAX_ATTEMPTS", get("GUARDIAN_MAX_ATTEMPTS"), errors),
        token_cache_seconds=_positive_float("GUARDIAN_TOKEN_CACHE_SECONDS",
                                            get("GUARDIAN_TOKEN_CACHE_SECONDS"), errors),
        mqtt_replies=mqtt_replies,
        public_url=_public_url(get("GUARDIAN_PUBLIC_URL"), errors, required=production),
        deliver_to=get("GUARDIAN_DELIVER_TO").strip(),
        trusted_proxies=_networks("GUARDIAN_TRUSTED_PROXIES", get("GUARDIAN_TRUSTED_PROXIES"),
                                  errors),
        warnings=tuple(warnings),
    )
    if errors:
        raise ConfigError(errors)
    return settings
