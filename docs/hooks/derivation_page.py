"""A mkdocs hook: the step-through page of the derivation's network, written into the site at build time.

The page is ``derivation-steps.html`` at the site's root: :meth:`minnet.inspect.Trace.to_html` of
:func:`minnet.derivation.trace`, the pass traced with the derivation's names (X, H, Z, O, ŷ, W1, W2),
drawn with the network, its forward values included. It is built from the code each time, so it
cannot drift from it; the docs link to it as ``derivation-steps.html``.
"""

import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PAGE = "derivation-steps.html"
TITLE = "The derivation's network: one pass, step by step"


def derivation_page() -> str:
    """The HTML of the page."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import minnet
    from minnet.derivation import build_network, make_data, trace
    from minnet.inspect.html import page

    X, Y = make_data()
    model = build_network(0)
    return page(trace(model, minnet.MSELoss(), X, Y), model, X, TITLE)


def on_files(files: Any, config: Any) -> Any:
    from mkdocs.structure.files import File

    files.append(File.generated(config, PAGE, content=derivation_page()))
    return files
