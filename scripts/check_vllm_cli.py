"""Check every shipped vLLM profile's command line with vLLM's own argument parser, and record
that parser's option table to engine/vllm_cli.json for the tests (which run without vLLM).

Run it where the vLLM of requirements-gpu.txt is installed; no GPU is needed:

    python3 -m venv /tmp/vllm && /tmp/vllm/bin/pip install vllm==0.33.0   # ~8 min, ~10 GB
    VLLM_TARGET_DEVICE=cpu PYTHONPATH=. /tmp/vllm/bin/python scripts/check_vllm_cli.py --record

Without --record it only checks, and says whether the recorded table still matches. It exits 1
if vLLM's parser refuses a profile's argv, a reasoning parser is unknown, or --swap-space (gone
from vLLM since 0.18) is still accepted.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.commands import vllm_launch  # noqa: E402
from engine.profiles import load_profiles  # noqa: E402
from engine.vllm_cli import RECORDED  # noqa: E402


def vllm_parser() -> argparse.ArgumentParser:
    """The parser of `python -m vllm.entrypoints.openai.api_server` (and `vllm serve`), as
    vLLM's launcher builds it (vllm/entrypoints/launchers/api_server/entry.py)."""
    from vllm.entrypoints.common.cli_args import make_arg_parser
    from vllm.utils.argparse_utils import FlexibleArgumentParser

    parser: argparse.ArgumentParser = make_arg_parser(FlexibleArgumentParser())
    return parser


def reasoning_parsers() -> list[str]:
    from vllm.reasoning import ReasoningParserManager

    return sorted(ReasoningParserManager.list_registered())


def checked_later() -> dict[str, list[str]]:
    """Values that vLLM's parser takes as any string and its config checks when loading: what
    the recorded table should hold as choices for them."""
    from typing import get_args

    from vllm.config.cache import CacheDType
    from vllm.model_executor.layers.quantization import (
        DEPRECATED_QUANTIZATION_METHODS,
        QUANTIZATION_METHODS,
    )

    return {"--quantization": sorted(set(QUANTIZATION_METHODS)
                                     - set(DEPRECATED_QUANTIZATION_METHODS)),
            "--kv-cache-dtype": sorted(get_args(CacheDType))}


def option_table(parser: argparse.ArgumentParser) -> dict[str, dict[str, Any]]:
    table: dict[str, dict[str, Any]] = {}
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction) or not action.option_strings:
            continue
        choices = None if action.choices is None else sorted(str(c) for c in action.choices)
        for name in action.option_strings:
            table[name] = {"nargs": action.nargs, "choices": choices}
    return dict(sorted(table.items()))


def refused(parser: argparse.ArgumentParser, args: list[str]) -> str | None:
    """vLLM's complaint about `args` (its parser's, then the checks its launcher makes before
    loading anything), or None when it takes them."""
    from vllm.entrypoints.common.cli_args import validate_parsed_serve_args

    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            parsed = parser.parse_args(args)
    except SystemExit:
        return err.getvalue().strip().splitlines()[-1]
    try:
        validate_parsed_serve_args(parsed)
    except Exception as exc:  # vLLM raises KeyError, TypeError, ValueError here
        return f"{type(exc).__name__}: {exc}"
    return None


def profile_args(profiles_dir: Path) -> dict[str, list[str]]:
    """Each vLLM profile's argv after `python -m vllm.entrypoints.openai.api_server`."""
    found = {}
    for profile in load_profiles(profiles_dir).values():
        if profile.engine != "vllm":
            continue
        spec = vllm_launch(profile, port=8000, profiles_dir=profiles_dir, hf_home=None,
                           hf_token=None, api_key="x")
        found[profile.id] = spec.argv[3:]
    return found


def main() -> int:
    parser_args = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser_args.add_argument("--record", action="store_true", help=f"write {RECORDED.name}")
    parser_args.add_argument("--profiles", type=Path, default=ROOT / "profiles")
    options = parser_args.parse_args()
    os.environ.setdefault("VLLM_TARGET_DEVICE", "cpu")
    import vllm

    parser = vllm_parser()
    table = {"vllm_version": vllm.__version__, "options": option_table(parser),
             "reasoning_parsers": reasoning_parsers(), "checked_later": checked_later()}
    print(f"vLLM {vllm.__version__}: {len(table['options'])} option strings,"
          f" {len(table['reasoning_parsers'])} reasoning parsers")
    failures = 0
    for profile_id, args in profile_args(options.profiles).items():
        complaint = refused(parser, args)
        print(f"  {profile_id}: {'refused: ' + complaint if complaint else 'parsed'}")
        failures += complaint is not None
        if "--reasoning-parser" in args:
            name = args[args.index("--reasoning-parser") + 1]
            known = name in table["reasoning_parsers"]
            print(f"  {profile_id}: reasoning parser {name} {'known' if known else 'UNKNOWN'}")
            failures += not known
    swap = refused(parser, ["--model", "m", "--swap-space", "4"])
    print(f"  --swap-space: {'refused' if swap else 'ACCEPTED'} ({swap})")
    failures += swap is None
    text = json.dumps(table, indent=1) + "\n"
    if options.record:
        RECORDED.write_text(text, encoding="utf-8")
        print(f"recorded to {RECORDED.relative_to(ROOT)}")
    elif not RECORDED.exists() or RECORDED.read_text(encoding="utf-8") != text:
        print(f"{RECORDED.relative_to(ROOT)} differs from this vLLM: run with --record")
        failures += 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
