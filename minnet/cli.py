"""The ``minnet`` command."""

from __future__ import annotations

import argparse
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="minnet", description="minnet: neural networks from local derivatives")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo", help="the two-layer network of the derivation: gradients two ways, then training"
    )
    demo.add_argument("--steps", type=int, default=500, help="training steps (default 500)")
    demo.add_argument("--lr", type=float, default=5.0, help="learning rate (default 5.0)")
    demo.add_argument("--seed", type=int, default=0, help="seed of the initial weights (default 0)")
    demo.add_argument(
        "--plot", metavar="PATH", help="write the training loss curve to PATH as a PNG (needs minnet[plot])"
    )
    args = parser.parse_args(argv)

    if args.command == "demo":
        from .derivation import run_demo

        losses = run_demo(steps=args.steps, lr=args.lr, seed=args.seed)
        if args.plot:
            from .plot import loss_curve

            loss_curve(losses, args.plot, title="the derivation's network: full-batch SGD")
            print(f"loss curve written to {args.plot}")
    return 0
