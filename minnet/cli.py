"""The ``minnet`` command."""

from __future__ import annotations

import argparse
from collections.abc import Sequence


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number of steps >= 0, got {value}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="minnet", description="minnet: neural networks from local derivatives")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo", help="the two-layer network of the derivation: gradients two ways, then training"
    )
    demo.add_argument("--steps", type=_non_negative_int, default=500, help="training steps (default 500)")
    demo.add_argument("--lr", type=float, default=5.0, help="learning rate (default 5.0)")
    demo.add_argument("--seed", type=int, default=0, help="seed of the initial weights (default 0)")
    demo.add_argument(
        "--plot", metavar="PATH", help="write the training loss curve to PATH as a PNG (needs minnet[plot])"
    )
    args = parser.parse_args(argv)

    if args.command == "demo":
        from .derivation import run_demo

        if args.plot:  # before the demo runs: a missing matplotlib is an error up front, not after training
            try:
                from .plot import loss_curve
            except ImportError as error:
                parser.error(f"--plot: {error}")
        losses = run_demo(steps=args.steps, lr=args.lr, seed=args.seed)
        if args.plot:
            loss_curve(losses, args.plot, title="the derivation's network: full-batch SGD")
            print(f"loss curve written to {args.plot}")
    return 0
