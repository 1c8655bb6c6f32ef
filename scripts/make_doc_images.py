"""Regenerate the figures in docs/img from the code of the pages that show them.

Run from the repository root with the plot extra installed:

    python scripts/make_doc_images.py

Each tutorial page's python blocks run in order, as tests/test_docs.py runs
them; after each block, a new ``fig`` in the page's namespace is saved under
the next name listed for that page. The derivation's loss curve comes from
``minnet demo --plot``, its graph from ``minnet.plot.graph`` (needs the graph
extra and Graphviz's ``dot``).
"""

import re
from pathlib import Path

import minnet
from minnet.cli import main
from minnet.derivation import build_network, make_data
from minnet.plot import graph

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "img"
FIGURES = {
    "tutorials/deep-sigmoid.md": ["gradient_flow.png", "deep_loss.png"],
    "tutorials/digits.md": ["digits_loss.png", "digits_activations.png"],
    "tutorials/digits-cnn.md": ["digits_cnn_feature_maps.png"],
    "tutorials/sequences.md": ["sequence_gradients.png"],
    "tutorials/char-lm.md": ["char_lm_loss.png"],
    "tutorials/glorot-bengio.md": ["glorot_gradients.png", "glorot_activations.png"],
}
FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def page_figures(page: str, names: list[str]) -> None:
    namespace: dict = {"__name__": "docs"}
    names = list(names)
    last = None
    for block in FENCE.findall((ROOT / "docs" / page).read_text(encoding="utf-8")):
        exec(compile(block, page, "exec"), namespace)
        fig = namespace.get("fig")
        if fig is not None and fig is not last:
            fig.savefig(IMAGES / names.pop(0), format="png", dpi=100)
            last = fig
    assert not names, f"{page}: no figure for {names}"


if __name__ == "__main__":
    IMAGES.mkdir(exist_ok=True)
    main(["demo", "--steps", "300", "--plot", str(IMAGES / "derivation_loss.png")])
    X, Y = make_data()
    graph(build_network(0), X, Y, minnet.MSELoss(), path=IMAGES / "derivation_graph.svg")
    for page, names in FIGURES.items():
        page_figures(page, names)
