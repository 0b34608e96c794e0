"""`python -m tests.screenshots OUTPUT_DIR`, run as a person runs it: a PNG of every page of the registry in
both languages at both widths, as wide as the screen (nothing spills out sideways)."""

from __future__ import annotations

import importlib.util
import os
import struct
import subprocess
import sys
from pathlib import Path


from tests.conftest import ENV_SETTINGS, ROOT, missing
from tests.screenshots import LANGUAGES, WIDTHS, file_name
from tests.site import PAGES

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == PNG_SIGNATURE and head[12:16] == b"IHDR", f"{path.name} is not a PNG file"
    return struct.unpack(">II", head[16:24])


# The command makes its own SQLite database whatever the suite runs on: once, in the SQLite run, is enough.
def test_screenshot_command_saves_every_page(tmp_path):
    if not Path(ENV_SETTINGS.test_browser).exists():
        missing(f"Chromium not found at {ENV_SETTINGS.test_browser} (apt-get install chromium)")
    if importlib.util.find_spec("playwright") is None:
        missing("the playwright package is not installed")
    output = tmp_path / "screenshots"
    result = subprocess.run(
        [sys.executable, "-m", "tests.screenshots", str(output)],
        cwd=ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    expected_count = len(LANGUAGES) * len(WIDTHS) * len(PAGES)
    assert expected_count == 4 * len(PAGES)
    assert f"Wrote {expected_count} screenshots" in result.stdout

    files = {path.name: path for path in output.glob("*.png")}
    expected = {file_name(language, width, spec.name): WIDTHS[width][0] for language in LANGUAGES for width in WIDTHS for spec in PAGES}
    assert len(expected) == expected_count, "two pages of the registry share a file name"
    assert set(files) == set(expected)
    assert "vi-phone-home.png" in files and "en-desktop-audit-log.png" in files
    for name, width in expected.items():
        assert files[name].stat().st_size > 1000, f"{name} is empty"
        png_width, png_height = png_size(files[name])
        assert png_width == width, f"{name} is {png_width} px wide at a {width} px screen: the page overflows sideways"
        assert png_height >= WIDTHS[name.split("-")[1]][1], f"{name} is shorter than the screen"
