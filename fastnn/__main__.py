"""The ``fastnn`` command line (also ``python -m fastnn``)."""

import argparse
import sys


def _cmd_info(args):
    import fastnn

    if args.json:
        import json

        from fastnn._info import config

        print(json.dumps(config(), indent=2))
    else:
        fastnn.show_config()
    return 0


def build_parser():
    p = argparse.ArgumentParser(prog="fastnn", description="fastnn command line")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    info = sub.add_parser("info", help="show how fastnn was built and what it runs on")
    info.add_argument("--json", action="store_true", help="print the configuration as JSON")
    info.set_defaults(func=_cmd_info)
    return p


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except (ValueError, TypeError, OSError) as e:
        print(f"fastnn: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
