"""Photograph two reports' report.html for the docs: docs/img/report.png (the default run's)
and docs/img/failure-report.png (jax's elu tail under --runxfail).

    python scripts/screenshots.py     # after scripts/docs_samples.py has written the reports

(scripts/docs_samples.py --screenshot runs both.) Headless Chromium (`apt-get install
chromium`) renders each page 1500 px wide. The whole default run's page is many screens long,
so a picture shows a page from its top to a boundary (SHOTS): the copy that is photographed is
cut in its HTML before a section's heading, or after the heat map's first cases, where a row
ends, never in mid-row; the empty space below is trimmed. The reports come from
scripts/docs_samples.py's neutral folder, so no path of this machine shows.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO = Path(tempfile.gettempdir()) / "backprop-harness-demo"
WIDTH, HEIGHT = 1500, 6000  # the window; the picture is trimmed to the page's content

# report folder under DEMO: (image, cut before this heading, heat-map cases kept or None)
SHOTS = {"reports/docs-run": ("report.png", "<h2 id='divergences'>", 10),
         "reports/docs-failure": ("failure-report.png", "<h2 id='cases'>", None)}


def cut(page: str, heading: str, cases: int | None) -> str:
    """The page up to `heading`, and with `cases`, the heat map up to its case number
    cases + 1 (each case's first row has class=top), its table closed there."""
    if cases is not None:
        starts = [m.start() for m in re.finditer(r"<tr class=top>", page)]
        if len(starts) > cases:
            return page[:starts[cases]] + "</tbody></table></div></body></html>"
    return page[:page.index(heading)] + "</body></html>"


def trim(image: Path, margin: int = 16) -> None:
    """Crop the window's empty space below the page's content."""
    from PIL import Image, ImageChops
    with Image.open(image) as shot:
        rgb = shot.convert("RGB")
    background = Image.new("RGB", rgb.size, rgb.getpixel((rgb.width - 1, rgb.height - 1)))
    box = ImageChops.difference(rgb, background).getbbox()
    if box:
        rgb.crop((0, 0, rgb.width, min(rgb.height, box[3] + margin))).save(image)


def shoot(browser: str, page: Path, image: Path) -> None:
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                        "--disable-background-networking", "--disable-component-update",
                        "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
                        "--hide-scrollbars", f"--window-size={WIDTH},{HEIGHT}",
                        f"--screenshot={image}", page.as_uri()],
                       check=True, capture_output=True, timeout=120)


def main() -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        sys.exit("screenshots: no chromium on PATH (apt-get install chromium)")
    for folder, (name, heading, cases) in SHOTS.items():
        page = DEMO / folder / "report.html"
        if not page.exists():
            sys.exit(f"screenshots: {page} is missing; run scripts/docs_samples.py first")
        shown = page.with_name("screenshot.html")  # beside it, as the page it is cut from
        shown.write_text(cut(page.read_text(), heading, cases))
        image = ROOT / "docs" / "img" / name
        shoot(browser, shown, image)
        shown.unlink()
        trim(image)
        print(f"screenshot: docs/img/{name}")


if __name__ == "__main__":
    main()
