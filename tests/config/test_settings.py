"""Settings: validated at start, every problem at once, every setting documented."""

from __future__ import annotations

import pytest

from guardian.config.settings import DEVELOPMENT_SECRET, SETTINGS, load_settings
from guardian.errors import ConfigError
from tests.conftest import ROOT

GOOD_SECRET = "x" * 40
PUBLIC = "https://guardian.ayuntamiento.example"


def test_defaults_are_sqlite_under_var_and_the_policies_directory() -> None:
    settings = load_settings({"GUARDIAN_SECRET_KEY": GOOD_SECRET,
                              "GUARDIAN_PUBLIC_URL": PUBLIC})
    assert settings.env == "production"
    assert settings.database_url == "sqlite:///var/guardian.db"
    assert str(settings.policies_dir) == "policies"
    assert settings.scorer == "auto"


def test_production_refuses_a_missing_short_or_default_secret() -> None:
    for secret in ("", "short", DEVELOPMENT_SECRET):
        with pytest.raises(ConfigError) as caught:
            load_settings({"GUARDIAN_SECRET_KEY": secret})
        assert "GUARDIAN_SECRET_KEY" in str(caught.value)


def test_production_needs_a_public_address_and_never_0_0_0_0() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"GUARDIAN_SECRET_KEY": GOOD_SECRET})
    assert "GUARDIAN_PUBLIC_URL" in str(caught.value)
    for listening in ("http://0.0.0.0:8080", "http://[::]:8080"):
        with pytest.raises(ConfigError) as caught:
            load_settings({"GUARDIAN_SECRET_KEY": GOOD_SECRET,
                           "GUARDIAN_PUBLIC_URL": listening})
        assert "0.0.0.0" in str(caught.value)
    # Commands that sign no links (policies check, tokens) need neither.
    assert load_settings({}, require_secret=False).public_url == ""


def test_development_mode_runs_without_a_secret() -> None:
    settings = load_settings({"GUARDIAN_ENV": "development"})
    assert settings.development and settings.secret_key == DEVELOPMENT_SECRET


def test_postgresql_urls_are_accepted() -> None:
    for url in ("postgresql://guardian@db:5432/guardian", "postgres://u:p@h/d"):
        settings = load_settings({"GUARDIAN_ENV": "development", "GUARDIAN_DATABASE_URL": url})
        assert settings.database_url == url


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({
            "GUARDIAN_ENV": "staging",
            "GUARDIAN_DATABASE_URL": "mysql://x",
            "GUARDIAN_SCORER": "perspective",
            "GUARDIAN_PORT": "eighty",
            "GUARDIAN_MAX_BATCH": "0",
            "GUARDIAN_LEASE_SECONDS": "-1",
            "GUARDIAN_LOG_LEVEL": "LOUD",
        })
    named = {p.split(":")[0] for p in caught.value.problems}
    assert named == {"GUARDIAN_ENV", "GUARDIAN_DATABASE_URL", "GUARDIAN_SCORER",
                     "GUARDIAN_PORT", "GUARDIAN_MAX_BATCH", "GUARDIAN_LEASE_SECONDS",
                     "GUARDIAN_LOG_LEVEL", "GUARDIAN_SECRET_KEY", "GUARDIAN_PUBLIC_URL"}
    assert all(p.endswith(".") for p in caught.value.problems)


def test_a_misspelt_setting_is_warned_about() -> None:
    settings = load_settings({"GUARDIAN_ENV": "development", "GUARDIAN_DATABSE_URL": "x"})
    assert any("GUARDIAN_DATABSE_URL" in w for w in settings.warnings)


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = [s.name for s in SETTINGS if f"`{s.name}`" not in readme]
    assert missing == []
