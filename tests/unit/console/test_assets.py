"""The vendored Chart.js files are the ones VENDOR.md names, and the ones npm installs from the lock file."""

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


def test_the_vendored_matrix_chart_is_the_recorded_file_with_its_licence():
    digest = hashlib.sha256((VENDOR / "chartjs-chart-matrix.min.js").read_bytes()).hexdigest()
    assert digest in (VENDOR / "VENDOR.md").read_text()
    assert "MIT License" in (VENDOR / "chartjs-chart-matrix.LICENSE.md").read_text()
    lock = json.loads((ROOT / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/chartjs-chart-matrix"]["version"] == "3.1.0"
    assert lock["packages"]["node_modules/chartjs-chart-matrix"]["integrity"] in (VENDOR / "VENDOR.md").read_text()


@pytest.mark.parametrize("package, path", [("chart.js", "chart.umd.min.js"),
                                           ("chartjs-chart-matrix", "chartjs-chart-matrix.min.js")])
def test_the_vendored_file_equals_the_one_npm_installs(package, path):
    installed = ROOT / "node_modules" / package / "dist" / path
    if not installed.exists():
        pytest.skip("node_modules is not installed (npm ci)")
    assert installed.read_bytes() == (VENDOR / path).read_bytes()


def test_no_template_loads_anything_from_another_origin():
    for template in (ROOT / "services" / "console" / "templates").glob("*.html"):
        text = template.read_text()
        assert "<script>" not in text and "style=" not in text and "http://" not in text
        assert "https://" not in text, template
