"""Print a page of the docs site to PDF with a headless Chromium, math typeset, the site's navigation left out.

Builds the site (``mkdocs build --strict``) into a temporary directory and prints one page with the print
stylesheet of docs/stylesheets/extra.css. Needs chromium (or google-chrome) on the PATH; nothing is fetched
from the network.

Usage: python scripts/print_page.py [PAGE] [OUT.pdf]
       python scripts/print_page.py derivation derivation.pdf    (the defaults)
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def main(page: str = "derivation", out: str = "derivation.pdf") -> int:
    browser = next((found for name in BROWSERS if (found := shutil.which(name))), None)
    if browser is None:
        print(f"print_page: no headless browser found (looked for {', '.join(BROWSERS)})", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as site:
        subprocess.run(
            [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", site], cwd=ROOT, check=True
        )
        html = Path(site) / page.strip("/") / "index.html"
        if not html.exists():
            print(f"print_page: the site has no page {page!r} ({html.relative_to(site)} missing)", file=sys.stderr)
            return 1
        pdf = Path(out).resolve()
        subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-pdf-header-footer",
                f"--print-to-pdf={pdf}",
                html.as_uri(),
            ],
            check=True,
            capture_output=True,
        )
    print(f"{page} printed to {pdf} ({pdf.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
