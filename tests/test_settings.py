"""Settings: defaults give the embedded mode, the environment overrides, README lists them all."""

import re
from pathlib import Path

import pytest

from consult.settings import SettingsError, load_settings, setting_docs

README = Path(__file__).resolve().parent.parent / "README.md"


def test_defaults_are_the_embedded_mode(tmp_path):
    settings = load_settings(environ={"CONSULT_DATA_DIR": str(tmp_path)})
    assert settings.db_url == f"sqlite://{tmp_path / 'consult.sqlite3'}"
    assert settings.redis_url == ""
    assert settings.mail_path == tmp_path / "mail"
    assert settings.default_language == "vi" and settings.timezone == "Asia/Ho_Chi_Minh"
    assert settings.https_only is False


def test_secret_key_is_generated_once_into_the_data_dir(tmp_path):
    first = load_settings(environ={"CONSULT_DATA_DIR": str(tmp_path)})
    second = load_settings(environ={"CONSULT_DATA_DIR": str(tmp_path)})
    assert len(first.secret_key) >= 40 and first.secret_key == second.secret_key
    assert (tmp_path / "secret_key").read_text().strip() == first.secret_key
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    other = load_settings(environ={"CONSULT_DATA_DIR": str(tmp_path / "other")})
    assert other.secret_key != first.secret_key
    given = load_settings(environ={"CONSULT_DATA_DIR": str(tmp_path), "CONSULT_SECRET_KEY": "from-env"})
    assert given.secret_key == "from-env"


def test_environment_overrides_with_and_without_prefix(tmp_path):
    env = {
        "CONSULT_DATA_DIR": str(tmp_path),
        "DATABASE_URL": "postgres://u@db/consult",
        "REDIS_URL": "redis://cache:6379/1",
        "CONSULT_HTTPS_ONLY": "yes",
        "CONSULT_SMTP_PORT": "2525",
    }
    settings = load_settings(environ=env)
    assert settings.db_url == "postgres://u@db/consult" and not settings.is_sqlite
    assert settings.redis_url == "redis://cache:6379/1"
    assert settings.https_only is True and settings.smtp_port == 2525
    prefixed = load_settings(environ={**env, "CONSULT_DATABASE_URL": "postgres://other/db"})
    assert prefixed.db_url == "postgres://other/db"  # the prefixed name wins


@pytest.mark.parametrize("name,value", [("CONSULT_SMTP_PORT", "many"), ("CONSULT_HTTPS_ONLY", "maybe"), ("CONSULT_DEFAULT_LANGUAGE", "fr")])
def test_bad_values_are_refused_with_the_setting_name(tmp_path, name, value):
    with pytest.raises(SettingsError, match=name):
        load_settings(environ={"CONSULT_DATA_DIR": str(tmp_path), name: value})


def test_readme_lists_every_setting_with_its_default():
    text = README.read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `(CONSULT_[A-Z_]+)` \| `([^`]*)` \|", text, flags=re.M))
    documented = {name: default for name, default, _ in setting_docs()}
    assert rows == documented
