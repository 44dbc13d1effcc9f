"""The sample machine configuration that IT deploys is valid as shipped."""

from __future__ import annotations

from pathlib import Path

from access_probe.config import load_config

SAMPLE = Path(__file__).parents[1] / "installer" / "config.sample.yaml"


def test_sample_machine_config_loads(tmp_path: Path) -> None:
    loaded = load_config(SAMPLE, env={}, machine_file=tmp_path / "none.yaml",
                         user_file=tmp_path / "none2.yaml")
    assert loaded.config.org == "E07000223"
    assert loaded.config.collector.url == "https://collector.example.org"
    assert loaded.sources["collector.token"].startswith(str(SAMPLE))
