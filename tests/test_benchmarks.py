"""The benchmark scripts keep running (tiny sizes; no timing is asserted)."""

import runpy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_mlp_quick(capsys):
    module = runpy.run_path(str(ROOT / "benchmarks" / "bench_mlp.py"))
    timings = module["main"](["--quick"])
    assert {"minnet", "numpy by hand"} <= set(timings)
    assert all(t > 0 for t in timings.values())
    assert "x minnet" in capsys.readouterr().out
