"""The `timbre` command: one subcommand per verb; expected failures end in one line and a non-zero exit."""
import argparse
import sys

from jobs import analyse, benchmark, edit, evaluate, train, transfer
from timbre.errors import TimbreError

VERBS = (edit, transfer, evaluate, benchmark, train, analyse)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="timbre", description="Timbre transfer with latent diffusion models.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for verb in VERBS:
        verb.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (TimbreError, OSError) as e:
        print(f"timbre {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
