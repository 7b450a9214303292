"""vLLM's command line as recorded from vLLM itself, and a check of an engine argv against it.

`scripts/check_vllm_cli.py`, run where vLLM is installed, records the option table of the
parser that `python -m vllm.entrypoints.openai.api_server` (and `vllm serve`) uses, and the
names of its reasoning parsers, to `engine/vllm_cli.json`. The tests check every profile's
argv against that file, so an option or a choice the pinned vLLM does not have fails CI on a
machine without vLLM or a GPU. The check follows argparse: an option takes its recorded number
of values, and a value must be one of the option's choices where it has any.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RECORDED = Path(__file__).with_name("vllm_cli.json")
REASONING_PARSER = "--reasoning-parser"


@dataclass(frozen=True)
class Option:
    nargs: int | str | None  # as argparse has it: None one value, 0 none, "?", "*", "+", n
    choices: list[str] | None


@dataclass(frozen=True)
class VllmCli:
    version: str
    options: dict[str, Option]  # every option string, "--max-model-len" and its aliases
    reasoning_parsers: list[str]
    # Options whose values the parser takes as any string and vLLM's config checks when the
    # engine loads (a quantization method, a KV cache dtype): the values it knows.
    checked_later: dict[str, list[str]]

    @classmethod
    def load(cls, path: Path = RECORDED) -> VllmCli:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        options = {name: Option(spec["nargs"], spec["choices"])
                   for name, spec in data["options"].items()}
        return cls(data["vllm_version"], options, data["reasoning_parsers"],
                   data["checked_later"])

    def problems(self, args: list[str]) -> list[str]:
        """What vLLM's parser would refuse in `args` (the argv after the module), each said
        as vLLM would, or what it would take that it does not know (a reasoning parser)."""
        found: list[str] = []
        i = 0
        while i < len(args):
            token = args[i]
            i += 1
            if not _is_option(token):
                found.append(f"unexpected value {token!r}")
                continue
            name, has_inline, inline = token.partition("=")
            option = self.options.get(_dashed(name))
            if option is None:
                found.append(f"unrecognized argument {name} (vLLM {self.version})")
                continue
            values, i = _values(args, i, option.nargs, [inline] if has_inline else None)
            found += self._check_values(name, option, values)
        return found

    def _check_values(self, name: str, option: Option, values: list[str] | None) -> list[str]:
        if values is None:
            return [f"argument {name}: expected {_expected(option.nargs)}"]
        found = []
        if option.choices is not None:
            found += [f"argument {name}: invalid choice {value!r} (choose from"
                      f" {', '.join(option.choices)})" for value in values
                      if value not in option.choices]
        known = (self.reasoning_parsers if _dashed(name) == REASONING_PARSER
                 else self.checked_later.get(_dashed(name)))
        if known is not None:  # argparse takes any string here; vLLM refuses it when loading
            found += [f"argument {name}: vLLM {self.version} has no {value!r}"
                      f" (it has {', '.join(known)})" for value in values if value not in known]
        return found


def _is_option(token: str) -> bool:
    """As argparse: "-1" or "-0.5" is a value (vLLM has no option that looks like a number)."""
    return token.startswith("-") and not re.fullmatch(r"-\d+(\.\d+)?", token)


def _dashed(name: str) -> str:
    """vLLM's FlexibleArgumentParser takes --max_model_len for --max-model-len."""
    return "--" + name[2:].replace("_", "-") if name.startswith("--") else name


def _values(args: list[str], i: int, nargs: int | str | None,
            inline: list[str] | None) -> tuple[list[str] | None, int]:
    """The values the option at args[i-1] takes, and where the next option starts; None when
    there are too few."""
    if inline is not None:
        return (inline if nargs != 0 else None), i
    following: list[str] = []
    while i + len(following) < len(args) and not _is_option(args[i + len(following)]):
        following.append(args[i + len(following)])
    if nargs is None:
        wanted = 1
    elif nargs == "?":
        wanted = min(1, len(following))
    elif nargs in ("*", "+"):
        wanted = len(following)
    else:
        wanted = int(nargs)
    if len(following) < wanted or (nargs == "+" and not following):
        return None, i + len(following)
    return following[:wanted], i + wanted


def _expected(nargs: int | str | None) -> str:
    return {None: "one argument", "+": "at least one argument", 0: "no argument"}.get(
        nargs, f"{nargs} arguments")
