"""The vendored Chart.js is the file VENDOR.md names, and the one npm installs from the lock file."""

import hashlib
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
VENDOR = ROOT / "services" / "console" / "static" / "vendor"


def test_the_vendored_chart_js_is_the_recorded_file_with_its_licence():
    digest = hashlib.sha256((VENDOR / "chart.umd.min.js").read_bytes()).hexdigest()
    assert digest in (VENDOR / "VENDOR.md").read_text()
    assert "MIT License" in (VENDOR / "chart.js.LICENSE.md").read_text()
    lock = json.loads((ROOT / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/chart.js"]["version"] == "4.6.1"
    assert lock["packages"]["node_modules/chart.js"]["integrity"] in (VENDOR / "VENDOR.md").read_text()


def test_the_vendored_file_equals_the_one_npm_installs():
    installed = ROOT / "node_modules" / "chart.js" / "dist" / "chart.umd.min.js"
    if not installed.exists():
        pytest.skip("node_modules is not installed (npm ci)")
    assert installed.read_bytes() == (VENDOR / "chart.umd.min.js").read_bytes()


def test_no_template_loads_anything_from_another_origin():
    for template in (ROOT / "services" / "console" / "templates").glob("*.html"):
        text = template.read_text()
        assert "<script>" not in text and "style=" not in text and "http://" not in text
        assert "https://" not in text, template
