"""`robomem` command line.

    robomem objects STORE [--label L] [--at T]        every object's last known placement
    robomem where STORE LABEL                          where each object with LABEL is
    robomem timeline STORE (--object ID | --label L)   an object's placements and events
    robomem events STORE [--object ID] [--since T] [--until T] [--kind K ...]
    robomem where-was-i STORE (--at T | --room R)      the robot's position / stays in a room
    robomem ask STORE "where is the mug?"              a question in words (retrieval engine)
    robomem query STORE '{"type": ...}'                a typed query as JSON
    robomem serve STORE [--host H] [--port P]          the HTTP JSON service
    robomem mcp STORE                                  the MCP tools over stdio
    robomem eval [--houses N] [--sessions K] [--seeds S] [--out results.json] [--plot acc_vs_path.png]
                                                       the embodied-QA evaluation of the planner's
                                                       policies in the simulator (docs/planning.md)

Times (T) are integer ns of data time or ISO-8601 (UTC unless a zone is given). Every listing
prints a table, or the JSON the HTTP service returns with ``--json``. The store is opened
read-only: these commands never write (``eval`` writes only its own results files).

Each subcommand is one ``_cmd_<name>(sub)`` function registering its parser and handler; add new
ones to ``SUBCOMMANDS``."""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Callable

from robomem.errors import RobomemError


def _open(path: str):
    import robomem
    return robomem.open(path, readonly=True, perception=None)


def _time(name: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        from robomem.service.params import parse_time
        try:
            return parse_time(text, name)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    parse.__name__ = "time"
    return parse


def _emit(args, data, table) -> None:
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        from robomem.service.tables import print_table
        print_table(table())


def _store_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("store", help="path of the robomem store (SQLite file)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _window_args(p: argparse.ArgumentParser) -> None:
    """``--since`` / ``--until``: a time window (any form :func:`_time` takes)."""
    p.add_argument("--since", type=_time("--since"))
    p.add_argument("--until", type=_time("--until"))


# ---------------------------------------------------------------- subcommands
def _cmd_objects(sub) -> None:
    p = sub.add_parser("objects", help="every object's last known placement")
    _store_arg(p)
    p.add_argument("--label", help="only objects with this label")
    p.add_argument("--at", type=_time("--at"), help="as last known at this time")
    p.add_argument("--limit", type=int, default=1000)

    def run(args) -> int:
        from robomem.service import browse, tables
        with _open(args.store) as stack:
            rows = browse.objects(stack, args.label, args.at, args.limit)
        _emit(args, rows, lambda: tables.objects_table(rows))
        return 0
    p.set_defaults(run=run)


def _cmd_where(sub) -> None:
    p = sub.add_parser("where", help="where every object with a label is (last known)")
    _store_arg(p)
    p.add_argument("label")
    p.add_argument("--limit", type=int, default=100)

    def run(args) -> int:
        from robomem.service import browse, tables
        with _open(args.store) as stack:
            rows = browse.where(stack, args.label, args.limit)
        _emit(args, rows, lambda: tables.where_table(rows, args.label))
        return 0
    p.set_defaults(run=run)


def _cmd_timeline(sub) -> None:
    p = sub.add_parser("timeline", help="an object's placements and events in time order")
    _store_arg(p)
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--object", type=int, help="object id")
    g.add_argument("--label", help="every object with this label")
    _window_args(p)
    p.add_argument("--limit", type=int, default=1000)

    def run(args) -> int:
        from robomem.service import browse, tables
        with _open(args.store) as stack:
            rows = browse.timeline(stack, args.object, args.label, args.since, args.until, args.limit)
        title = f"timeline of object {args.object}" if args.object is not None else f"timeline of {args.label}"
        _emit(args, rows, lambda: tables.timeline_table(rows, title))
        return 0
    p.set_defaults(run=run)


def _cmd_events(sub) -> None:
    p = sub.add_parser("events", help="appeared / moved / disappeared events")
    _store_arg(p)
    p.add_argument("--object", type=int, help="only this object id")
    _window_args(p)
    p.add_argument("--kind", action="append", choices=["appeared", "moved", "disappeared"])
    p.add_argument("--limit", type=int, default=1000)

    def run(args) -> int:
        from robomem.service import browse, tables
        with _open(args.store) as stack:
            rows = browse.events(stack, args.object, args.since, args.until, args.kind, args.limit)
        _emit(args, rows, lambda: tables.events_table(rows))
        return 0
    p.set_defaults(run=run)


def _cmd_where_was_i(sub) -> None:
    p = sub.add_parser("where-was-i", help="the robot's position at a time, or its stays in a room")
    _store_arg(p)
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--at", type=_time("--at"))
    g.add_argument("--room", type=int, help="list the stays in this room")
    _window_args(p)

    def run(args) -> int:
        from robomem.service import browse, tables
        with _open(args.store) as stack:
            if args.room is not None:
                rows = browse.room_visits(stack, args.room, args.since, args.until)
                _emit(args, rows, lambda: tables.visits_table(rows, args.room))
                return 0
            row = browse.where_was_i(stack, args.at)
        _emit(args, row, lambda: tables.position_table(row, args.at))
        if row is None and not args.json:
            print("no stored track at that time")
        return 0
    p.set_defaults(run=run)


def _cmd_ask(sub) -> None:
    p = sub.add_parser("ask", help="a question in words")
    _store_arg(p)
    p.add_argument("question")
    p.add_argument("--now", type=_time("--now"), help="what 'now' means (default: the store's newest stamp)")

    def run(args) -> int:
        from robomem.service import engine, tables
        with _open(args.store) as stack:
            ans = engine.ask(stack, args.question, args.now)
        _emit(args, ans, lambda: tables.answer_table(ans))
        return 0
    p.set_defaults(run=run)


def _cmd_query(sub) -> None:
    p = sub.add_parser("query", help="a typed query as JSON (robomem.retrieval schema)")
    _store_arg(p)
    p.add_argument("query", help="the query as a JSON object")

    def run(args) -> int:
        from robomem.service import engine, tables
        try:
            q = json.loads(args.query)
        except json.JSONDecodeError as exc:
            raise argparse.ArgumentTypeError(f"query is not valid JSON: {exc}") from None
        with _open(args.store) as stack:
            ans = engine.query(stack, q)
        _emit(args, ans, lambda: tables.answer_table(ans))
        return 0
    p.set_defaults(run=run)


def _read_token(path) -> str | None:
    if path:
        with open(path, encoding="utf-8") as fh:
            return fh.read().strip() or None
    return os.environ.get("ROBOMEM_TOKEN") or None


def _cmd_serve(sub) -> None:
    p = sub.add_parser("serve", help="the HTTP JSON service over a read-only store")
    p.add_argument("store")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1; others need a token)")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--token-file", help="file holding the bearer token (else $ROBOMEM_TOKEN)")
    p.add_argument("--max-body", type=int, default=16 * 1024, help="request body limit in bytes (default 16 KiB)")
    p.add_argument("--rate", type=float, default=200.0,
                   help="requests/s per client address and worker (0: unlimited; default 200)")
    p.add_argument("--burst", type=float, default=None, help="rate-limit bucket size (default 2 x rate)")
    p.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (default 1)")
    p.add_argument("--log-level", default="warning")
    p.add_argument("--no-warm", action="store_true",
                   help="do not load the label-embedding model at start (the first question then waits for it)")
    p.add_argument("--no-fast-path", action="store_true",
                   help="answer /v1/where and /v1/query through the framework every time, uncached (for comparison)")

    def run(args) -> int:
        from robomem.service.http import ServeConfig, serve
        cfg = ServeConfig(args.store, args.host, args.port, _read_token(args.token_file), args.max_body, args.rate,
                          args.burst, max(1, args.workers), args.log_level, warm=not args.no_warm,
                          fast=not args.no_fast_path)
        serve(cfg)
        return 0
    p.set_defaults(run=run)


def _cmd_mcp(sub) -> None:
    p = sub.add_parser("mcp", help="the same queries as MCP tools over stdio")
    p.add_argument("store")

    def run(args) -> int:
        from robomem.service.mcp_tools import run_stdio
        run_stdio(args.store)
        return 0
    p.set_defaults(run=run)


def _cmd_eval(sub) -> None:
    from robomem.planning.evaluation import add_arguments
    p = sub.add_parser("eval", help="embodied-QA evaluation: memory-only, explore-always, threshold and VoI policies "
                                    "on multi-day scenarios in the simulator")
    add_arguments(p)

    def run(args) -> int:
        from robomem.planning.evaluation import finish_args, load_harness
        # --jobs > 1 sends the arguments to worker processes: drop this (unpicklable) local function.
        args = argparse.Namespace(**{k: v for k, v in vars(args).items() if k != "run"})
        finish_args(args)
        harness = load_harness()
        try:
            res = harness.run_eval(args, progress=not args.no_progress)
        except ImportError as exc:          # e.g. --sim habitat without habitat_sim: the install hint
            print(f"robomem eval: {exc}", file=sys.stderr)
            return 2
        print(harness.report(res["summary"], res["records"]))
        print(harness.markdown_groups(res["summary"]))
        print(f"wrote {args.out}, {args.plot}, {args.reliability_plot}")
        return 0
    p.set_defaults(run=run)


SUBCOMMANDS = [_cmd_objects, _cmd_where, _cmd_timeline, _cmd_events, _cmd_where_was_i, _cmd_ask, _cmd_query,
               _cmd_serve, _cmd_mcp, _cmd_eval]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="robomem", description="robomem command line")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in SUBCOMMANDS:
        register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        import robomem
        print(robomem.__version__)
        return 0
    if getattr(args, "run", None) is None:
        parser.print_help()
        return 0
    try:
        return int(args.run(args) or 0)
    except (RobomemError, ValueError, argparse.ArgumentTypeError, OSError) as exc:
        print(f"robomem {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
