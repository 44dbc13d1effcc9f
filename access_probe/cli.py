"""The `access-probe` command: parse, call the library, render. Exit 0, or 2 for bad input.

Commands are registered explicitly: `check` here, the agent's (run, tray, spool, report,
config) by `agent.commands.register`, the collector's by `collector.commands.register`. Heavy
modules are imported inside handlers so `--version` and `--help` start fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from access_probe import __version__
from access_probe.errors import AccessProbeError, ServiceError, UsageError

if TYPE_CHECKING:
    from access_probe.config import Config
    from access_probe.schema import CheckDocument

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 1
# probe.concurrency's default and bounds, stated here so `--help` needs no config import
# (a test holds them equal to config.py's).
PARALLEL_DEFAULT = 32
PARALLEL_RANGE = (1, 256)


def load_effective_config(config_file: str | None, targets: str | None = None) -> Config:
    """The layered configuration (contract section 3), with --targets applied on top."""
    from dataclasses import replace

    from access_probe.config import load_config

    config = load_config(Path(config_file) if config_file else None).config
    if targets:
        path = Path(targets)
        if not path.is_file():
            raise UsageError(f"--targets: {targets}: no such file")
        config = replace(config, targets=path)
    return config


def _links_from(source: str) -> list[str]:
    """The http(s) links in a file of free text (`-`: standard input), cleaned and
    de-duplicated; each link found but not checkable is named on stderr."""
    from access_probe.links import find_links

    if source == "-":
        text = sys.stdin.read()
        where = "standard input"
    else:
        try:
            text = Path(source).read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise UsageError(f"--links-from {source}: {exc.strerror or exc}") from exc
        where = source
    found = find_links(text)
    for raw, problem in found.skipped:
        sys.stderr.write(f"access-probe: skipped {raw!r}: {problem}\n")
    if not found.links:
        raise UsageError(f"--links-from: no http(s) links found in {where}")
    return list(found.links)


def with_parallel(config: Config, parallel: int) -> Config:
    """`check --parallel N`: the same setting as probe.concurrency, with the same bounds."""
    from dataclasses import replace

    low, high = PARALLEL_RANGE
    if not low <= parallel <= high:
        raise UsageError(f"--parallel: {parallel}: must be an integer {low}-{high}")
    return replace(config, probe=replace(config.probe, concurrency=parallel))


def cmd_check(args: argparse.Namespace) -> int:
    from access_probe.engine.check import run_check
    from access_probe.render import ProgressBar, table

    if "-" in args.urls:
        raise UsageError("'-' is not a URL; to check the links in text on standard input, "
                         "use --links-from -")
    config = load_effective_config(args.config, args.targets)
    urls = list(args.urls)
    if args.links_from:
        urls += [u for u in _links_from(args.links_from) if u not in urls]
    if args.parallel is not None:
        config = with_parallel(config, args.parallel)
    bar = ProgressBar(sys.stderr, "Checking") if not args.json else None
    try:
        doc = run_check(urls or None, config=config, progress=bar)
    finally:
        if bar is not None:
            bar.close()
    if args.json:
        sys.stdout.write(json.dumps(doc.to_json(), indent=2) + "\n")
    else:
        sys.stdout.write(table(doc, colour=sys.stdout.isatty()))
    sys.stdout.flush()  # the answer is out before any delivery attempt
    _remember(doc, config)
    if not args.no_submit and config.collector.url:
        _submit(doc, config)
    return EXIT_OK


def _remember(doc: CheckDocument, config: Config) -> None:
    """The local history, so `access-probe report` shows this check (it never leaves here)."""
    import logging

    from access_probe.agent.runtime import open_history

    try:
        open_history(config).add(doc)
    except OSError as exc:  # the answer is already printed; a full disk must not hide it
        logging.getLogger(__name__).warning("could not record the local history: %s", exc)


def _submit(doc: CheckDocument, config: Config) -> None:
    """Hand the results to the agent's spool (anonymised there) and try to deliver them."""
    import logging

    from access_probe.agent.runtime import deliver
    from access_probe.agent.submit import describe_error

    log = logging.getLogger(__name__)
    try:
        report = deliver(doc, config)
    except Exception as exc:  # delivery is best effort here; `run` and `spool flush` retry
        log.warning("could not spool results: %s", exc)
        return
    if report is not None and report.error is not None:
        log.warning("results kept in the spool: %s", describe_error(report))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="access-probe",
        description="Measure whether social media and Knowledge Hub links are reachable from "
        "this network, and how they are blocked.",
    )
    parser.add_argument("--version", action="version", version=f"access-probe {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    check = sub.add_parser("check", help="probe once, now",
                           description="Probe the catalogue (or the given URLs) once, now.")
    check.add_argument("urls", nargs="*", metavar="URL", help="probe just these links")
    check.add_argument("--links-from", metavar="FILE",
                       help="check every http(s) link in this text (a post, an e-mail); "
                            "- reads standard input")
    check.add_argument("--targets", metavar="FILE", help="a catalogue file instead of the default")
    check.add_argument("--config", metavar="FILE", help="configuration file (YAML)")
    check.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    check.add_argument("--no-submit", action="store_true", help="do not send results anywhere")
    check.add_argument("--parallel", type=int, metavar="N",
                       help="endpoints measured at once (probe.concurrency; default "
                            f"{PARALLEL_DEFAULT}, chosen by measurement: docs/benchmarks.md)")
    check.set_defaults(handler=cmd_check)

    from access_probe.agent import commands as agent_commands
    from access_probe.collector import commands as collector_commands

    agent_commands.register(sub)
    collector_commands.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    import logging

    # Quiet by default: warnings only, on stderr, so stdout stays clean for --json.
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="access-probe: %(levelname)s: %(message)s")
    try:
        return int(args.handler(args))
    except ServiceError as exc:
        print(f"access-probe: error: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except AccessProbeError as exc:
        print(f"access-probe: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("access-probe: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
