from __future__ import annotations

from pathlib import Path

import pytest

from govmail.config import ConfigError, default_toml, load_settings, reference_markdown

ROOT = Path(__file__).resolve().parents[1]


def test_docs_list_every_setting() -> None:
    doc = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert doc.endswith(reference_markdown()), (
        "docs/configuration.md is out of date: regenerate its table with "
        "govmail.config.reference_markdown()"
    )


def test_default_file_loads_and_matches_defaults(tmp_path: Path) -> None:
    f = tmp_path / "govmail.toml"
    f.write_text(default_toml(), encoding="utf-8")
    s = load_settings(f)
    assert s.listeners.bind == ["127.0.0.1"]
    assert s.database_url.startswith("sqlite+aiosqlite:///")
    assert s.general.language == "vi"


def test_environment_overrides_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "govmail.toml"
    f.write_text('[listeners]\nsmtp_port = 2600\n[general]\nhostname = "mail.phuyen.gov.vn"\n')
    monkeypatch.setenv("GOVMAIL_LISTENERS__SMTP_PORT", "25")
    s = load_settings(f)
    assert s.listeners.smtp_port == 25
    assert s.general.hostname == "mail.phuyen.gov.vn"


@pytest.mark.parametrize(
    ("toml", "needle"),
    [
        ("[listeners]\nsmtp_port = 70000\n", "listeners.smtp_port"),
        ("[listeners]\nbind = ['localhost']\n", "listeners.bind"),
        ("[general]\nhostname = 'not a host'\n", "general.hostname"),
        ("[general]\ntimezone = 'Mars/Olympus'\n", "general.timezone"),
        ("[general]\nlanguage = 'fr'\n", "general.language"),
        ("[database]\nurl = 'mysql://x'\n", "database.url"),
        ("[limits]\nmax_recipients = 0\n", "limits.max_recipients"),
        ("[listeners]\nsmtp_prot = 25\n", "listeners.smtp_prot: unknown setting"),
        ("[listeners\n", "not valid TOML"),
    ],
)
def test_invalid_settings_name_the_key(tmp_path: Path, toml: str, needle: str) -> None:
    f = tmp_path / "govmail.toml"
    f.write_text(toml)
    with pytest.raises(ConfigError) as exc:
        load_settings(f)
    assert needle in str(exc.value)


def test_invalid_environment_variable_is_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GOVMAIL_LIMITS__MAX_MESSAGE_SIZE", "lots")
    with pytest.raises(ConfigError) as exc:
        load_settings()
    assert "limits.max_message_size" in str(exc.value)
    assert "GOVMAIL_LIMITS__MAX_MESSAGE_SIZE" in str(exc.value)


def test_i18n_catalogues_agree() -> None:
    import re

    from govmail.i18n import catalogue

    vi, en = catalogue("vi"), catalogue("en")
    assert vi.keys() == en.keys()
    for k in vi:
        assert set(re.findall(r"\{(\w+)\}", vi[k])) == set(re.findall(r"\{(\w+)\}", en[k])), k
