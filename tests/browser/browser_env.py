"""Where the browser tests find Chromium, axe-core and the artifact folder, and why they would be skipped."""

import os
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(os.environ.get("RECIPROCAL_ARTIFACTS", ROOT / "build" / "artifacts")) / "screenshots"
CHROMIUM_CANDIDATES = ("/usr/lib/chromium/chromium", "/usr/bin/chromium", "/usr/bin/chromium-browser")
SPEED = 86_400.0  # a virtual day per real second: weekly sessions come round every 7 s


def chromium_path() -> str | None:
    configured = os.environ.get("RECIPROCAL_CHROMIUM")
    if configured:
        return configured if Path(configured).exists() else None
    return next((p for p in CHROMIUM_CANDIDATES if Path(p).exists()), None) or shutil.which("chromium")


def missing() -> str | None:
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install -c constraints.txt -e '.[dev]')"
    if chromium_path() is None:
        return ("no Chromium: install Debian's package (`apt-get install -y chromium`, which `make browser-setup` "
                "does as root) or point RECIPROCAL_CHROMIUM at a chromium binary")
    if not AXE.exists():
        return f"axe-core is missing at {AXE}: run `npm ci` (make browser-setup)"
    return None
