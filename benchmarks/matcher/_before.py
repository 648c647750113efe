"""The matcher's domain code as it was at another commit, loaded beside the current one so one
benchmark process can time both, alternating (`--against <commit>`).

`git show <commit>:services/matcher/domain/<file>` for every file of the package at that commit,
written to a temporary directory as the package `matcher_before`, its imports of
`services.matcher.domain` pointed at itself. Nothing is committed: the copy lives for the run.
"""

import dataclasses
import importlib
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

PACKAGE = "services/matcher/domain"
NAME = "matcher_before"


def load(commit: str) -> ModuleType:
    """The package `services.matcher.domain` at `commit`, importable as `matcher_before`."""
    files = subprocess.run(["git", "ls-tree", "--name-only", f"{commit}:{PACKAGE}"], check=True,
                           capture_output=True, text=True).stdout.split()
    root = Path(tempfile.mkdtemp(prefix="matcher-before-"))
    target = root / NAME
    target.mkdir()
    for name in files:
        if not name.endswith(".py"):
            continue
        text = subprocess.run(["git", "show", f"{commit}:{PACKAGE}/{name}"], check=True, capture_output=True,
                              text=True).stdout
        (target / name).write_text(text.replace("services.matcher.domain", NAME))
    sys.path.insert(0, str(root))
    return importlib.import_module(NAME)


def convert(obj, cls: type):
    """The same dataclass value (a Person, a Program) as the other package's `cls`; fields that `cls`
    does not have yet (a newer setting at its default) are left out."""
    known = {f.name for f in dataclasses.fields(cls)}
    return cls(**{f.name: getattr(obj, f.name) for f in dataclasses.fields(obj) if f.name in known})


def resolve(commit: str) -> str:
    return subprocess.run(["git", "rev-parse", "--short", commit], check=True, capture_output=True,
                          text=True).stdout.strip()
