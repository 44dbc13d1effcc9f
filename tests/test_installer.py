"""The sample machine configuration that IT deploys is valid once its placeholder token is
replaced, and refused (naming the file, line and key) while it still holds the placeholder."""

from __future__ import annotations

from pathlib import Path

import pytest

from access_probe.config import load_config
from access_probe.errors import ConfigError

SAMPLE = Path(__file__).parents[1] / "installer" / "config.sample.yaml"


def test_sample_machine_config_loads_once_the_token_is_filled_in(tmp_path: Path) -> None:
    filled = tmp_path / "config.yaml"
    filled.write_text(SAMPLE.read_text().replace("ap_REPLACE_WITH_THE_ENROLMENT_TOKEN",
                                                 "ap_0a1b2c3d_k3yM4t3r1alFromTokenCreate"))
    loaded = load_config(filled, env={}, machine_file=tmp_path / "none.yaml",
                         user_file=tmp_path / "none2.yaml")
    assert loaded.config.org == "E07000223"
    assert loaded.config.collector.url == "https://collector.example.org"
    assert loaded.sources["collector.token"].startswith(str(filled))


def test_the_placeholder_token_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(SAMPLE, env={}, machine_file=tmp_path / "none.yaml",
                    user_file=tmp_path / "none2.yaml")
    message = str(caught.value)
    line = next(n for n, text in enumerate(SAMPLE.read_text().splitlines(), 1)
                if "token:" in text)
    assert f"{SAMPLE}:{line}" in message and "collector.token" in message
    assert "placeholder" in message
