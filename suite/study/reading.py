"""A study file's text read into a mapping: at most MAX_STUDY_FILE_BYTES of strict YAML
(no key twice in one mapping), `--set` overrides applied, and the name a file gives its
study where it gives none."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Any

import yaml

from suite.study.bounds import SAFE_NAME
from suite.study.config import StudyError
from suite.study.problems import shown


def name_from_file(path: Path, source: str) -> str:
    """The study's name when the file gives none: its file name with each character a name
    may not hold made a '-' (as names were always derived, so a study keeps its experiment);
    where that cannot start a name, accents dropped first (étude -> etude)."""
    name = re.sub(r"[^A-Za-z0-9_.-]", "-", path.stem)
    if SAFE_NAME.fullmatch(name):
        return name
    plain = unicodedata.normalize("NFKD", path.stem).encode("ascii", "ignore").decode()
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", plain).strip("-_.")[:100]
    if not name:
        raise StudyError(
            source,
            [
                f"name: the file name {path.stem!r} gives no study name (letters, digits, '_',"
                " '.', '-'); add  name: my-study  to the file"
            ],
        )
    return name


MAX_STUDY_FILE_BYTES = 1_000_000  # a study is a few lines; its largest grid, some kilobytes


def read_yaml(path: Path) -> dict[str, Any]:
    # A pipe or a device would be read without end, a huge file parsed for minutes.
    if path.exists() and not path.is_file() and not path.is_dir():
        raise StudyError(str(path), ["not a regular file; give the path of a .yaml study file"])
    if path.is_file() and path.stat().st_size > MAX_STUDY_FILE_BYTES:
        raise StudyError(
            str(path),
            [
                f"{path.stat().st_size:,} bytes; a study file holds at most"
                f" {MAX_STUDY_FILE_BYTES:,} (its grid lists values, at most 10,000 runs)"
            ],
        )
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StudyError(
            str(path), ["no such file; check the path (studies/ holds examples)"]
        ) from None
    except IsADirectoryError:
        raise StudyError(
            str(path), ["is a directory; give the path of a .yaml study file"]
        ) from None
    except (OSError, UnicodeDecodeError) as err:
        raise StudyError(str(path), [f"cannot read the file: {err}"]) from None
    try:
        raw = _load_yaml(text)
    except DuplicateKeyError as err:
        raise StudyError(str(path), [str(err)]) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(err, "problem", None) or str(err)
        raise StudyError(str(path), [f"{where}invalid YAML: {problem}"]) from None
    if raw is None:
        raise StudyError(str(path), ["the file is empty; a minimal study is  grid: {cell: [lstm]}"])
    if not isinstance(raw, dict):
        raise StudyError(
            str(path),
            [
                f"the top level must be a mapping of keys (name, data, model, training, grid, ...),"
                f" got a {type(raw).__name__}"
            ],
        )
    return raw


class DuplicateKeyError(yaml.YAMLError):
    """A key given twice in one mapping: YAML would silently keep only the last."""

    def __init__(self, key: Any, line: int) -> None:
        super().__init__(
            f"line {line}: key {shown(key)} appears twice in the same mapping (YAML keeps only"
            " the last); keep one"
        )


class _StrictLoader(yaml.SafeLoader):
    """`yaml.safe_load`'s loader, except that a key repeated in one mapping is an error."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._checked: set[int] = set()

    def flatten_mapping(self, node: yaml.MappingNode) -> None:
        # Checked here, the one place a mapping's `<<:` merges are folded into its keys, before
        # they are: a merged key the mapping overrides is the point of a merge, no duplicate.
        if id(node) not in self._checked:
            self._checked.add(id(node))
            seen: set[Any] = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    if key in seen:
                        raise DuplicateKeyError(key, key_node.start_mark.line + 1)
                    seen.add(key)
                except TypeError:  # an unhashable key: SafeLoader refuses it itself
                    continue
        super().flatten_mapping(node)


def _load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader: safe_load, stricter


def apply_override(raw: dict[str, Any], override: str, *, source: str) -> None:
    """`--set training.epochs=1`: the value is YAML, the key a dotted path into the file."""
    key, sep, value = override.partition("=")
    if not sep or not key.strip():
        raise StudyError(
            source, [f"--set {override!r}: expected KEY.PATH=VALUE, e.g. training.epochs=1"]
        )
    try:
        parsed = _load_yaml(value)
    except DuplicateKeyError as err:
        raise StudyError(source, [f"--set {override!r}: {err}"]) from None
    except yaml.YAMLError:
        raise StudyError(source, [f"--set {override!r}: the value is not valid YAML"]) from None
    node = raw
    parts = key.strip().split(".")
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise StudyError(source, [f"--set {override!r}: {part} is not a section"])
        node = child
    node[parts[-1]] = parsed
