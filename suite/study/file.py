"""Study files: read once at the edge, override, validate into a frozen `Study`.

A study file is YAML. It is read once by `load_study`, validated by pydantic, and any problem
becomes one `StudyError` that names the file, the key path and what is allowed, so the CLI can
print it and exit before anything touches the tracking store.
"""

from __future__ import annotations

import json
import math
import re
import reprlib
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from suite.study.config import (
    BACKENDS,
    GRID_SECTIONS,
    MAX_GRID_RUNS,
    SAFE_NAME,
    SUITE_FILLED,
    DataConfig,
    SearchParam,
    Study,
    StudyError,
    dataset_section,
    numeric_fields,
    process_backend,
    seed_problem,
)
from suite.study.grid import seed_values
from suite.study.sequences import data_problems, pin


def load_study(path: str | Path, *, overrides: Sequence[str] = ()) -> Study:
    """Read, override and validate a study file; raise StudyError naming every problem."""
    path = Path(path)
    source = str(path)
    raw = _read_yaml(path)
    for override in overrides:
        _apply_override(raw, override, source=source)
    if "name" not in raw:
        raw["name"] = _name_from_file(path, source)
    try:
        study = Study.model_validate(raw)
    except ValidationError as err:
        raise StudyError(source, [_describe(e) for e in err.errors()]) from None
    if study.grid is None and study.search is None:
        raise StudyError(
            source,
            [
                "grid: missing; a study needs a grid of runs (e.g.  grid: {cell: [lstm]}) or a"
                " search: section"
            ],
        )
    if study.grid is not None and study.search is not None:
        raise StudyError(
            source,
            ["grid and search: a study has one or the other; put the search in its own file"],
        )
    # The data is read with the study: its problems are the study's, one line each.
    if problems := data_problems(data_sections(study)):
        raise StudyError(source, problems)
    if problem := _objective_problem(study):
        raise StudyError(source, [problem])
    problems = _grid_problems(study) if study.grid is not None else _search_problems(study)
    problems += _race_problems(study) + _budget_problems(study) + _fused_problems(study)
    problems += _dataset_problems(study)
    if problems:
        raise StudyError(source, problems)
    # Only a valid grid can be expanded to size each configuration to its budget.
    if problems := _budgets_too_small(study):
        raise StudyError(source, problems)
    return study


def data_sections(study: Study) -> dict[DataConfig, str]:
    """The study's data section, and each other one its grid's dataset, archive or file axis
    names, with where each is named (values that are not even valid sections are the grid
    check's to report)."""
    # With a dataset axis, `data:` holds only the entries' defaults: no run trains on it.
    sections = {} if (study.grid or {}).get("dataset") else {study.data: "data"}
    for key in ("dataset", "archive", "file"):
        for i, value in enumerate((study.grid or {}).get(key, [])):
            read, problem = _read_value(study, key, value)
            if problem is None:
                if key != "dataset":
                    read = DataConfig.model_validate(
                        {**study.data.model_dump(exclude_unset=True), key: read}
                    )
                sections.setdefault(read, f"grid.{key}[{i}]")
    return sections


def _objective_problem(study: Study) -> str | None:
    """A search objective that the data's task does not have (accuracy of a regression)."""
    if study.search is None:
        return None
    task = study.task
    wrong = {"classification": "val_rmse", "regression": "val_accuracy"}[task]
    if study.search.objective != wrong:
        return None
    allowed = "val_accuracy or val_loss" if task == "classification" else "val_rmse or val_loss"
    return f"search.objective: {wrong} does not apply to {task}; use {allowed}"


def _name_from_file(path: Path, source: str) -> str:
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


def _read_yaml(path: Path) -> dict[str, Any]:
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
            f"line {line}: key {_shown(key)} appears twice in the same mapping (YAML keeps only"
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


def _apply_override(raw: dict[str, Any], override: str, *, source: str) -> None:
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


def _grid_problems(study: Study) -> list[str]:
    assert study.grid is not None
    if not study.grid:
        return ["grid: empty; list at least one value, e.g.  grid: {cell: [lstm]}"]
    if size_problem := _grid_size_problem({**study.grid, "seed": seed_values(study)}):
        return [size_problem]  # before reading a value: a huge grid is refused at once
    problems: list[str] = []
    for key, values in study.grid.items():
        if key not in GRID_SECTIONS:
            allowed = ", ".join(GRID_SECTIONS)
            problems.append(f"grid.{key}: unknown grid key; allowed keys: {allowed}")
        elif not values:
            problems.append(f"grid.{key}: empty list; give at least one value")
        else:
            problems += _value_list_problems(study, f"grid.{key}", key, values)
    return problems


def _dataset_problems(study: Study) -> list[str]:
    """A dataset axis names each dataset once, by a name of its own, and is the study's only
    data axis (an archive, file or view axis beside it would say the data twice)."""
    grid = study.grid or {}
    if "dataset" not in grid:
        return []
    beside = [k for k in ("archive", "file", "view") if k in grid]
    if beside:
        return [
            f"grid.dataset and grid.{', grid.'.join(beside)}: the dataset axis names whole"
            " data sections; list each dataset in it (e.g.  {archive: GunPoint} or  {view:"
            f" pixels}}) and remove grid.{', grid.'.join(beside)}"
        ]
    problems: list[str] = []
    names: dict[str, int] = {}
    contents: dict[str, int] = {}
    reads: set[DataConfig] = set()
    for i, entry in enumerate(grid["dataset"]):
        read, problem = _read_value(study, "dataset", entry)
        if problem is not None or read in reads:
            continue  # the grid check's line: invalid, or listed twice
        reads.add(read)
        where = f"grid.dataset[{i}]"
        name = read.dataset_name
        if name.lower() in names:
            problems.append(
                f"{where}: named {name!r}, as is grid.dataset[{names[name.lower()]}]; give one"
                " of them a name of its own (name: ...)"
            )
        names.setdefault(name.lower(), i)
        content = json.dumps(pin(read).identity(), sort_keys=True)
        if content in contents:
            problems.append(
                f"{where}: the same data as grid.dataset[{contents[content]}] (same content and"
                " settings), so every run of it would be trained twice; list it once"
            )
        contents.setdefault(content, i)
    return problems


def _race_problems(study: Study) -> list[str]:
    """A race names its configurations in `grid:` and spends seeds itself."""
    if study.race is None:
        return []
    if study.search is not None:
        return ["race: races the configurations of a grid, not a search; remove race: or search:"]
    if "seed" in study.grid:
        return [
            "grid.seed: a race chooses the seeds itself (0, 1, ... up to race.max_seeds);"
            " remove grid.seed, or remove race: to train the listed seeds"
        ]
    if study.race.margin_points is not None and study.task == "regression":
        return [
            "race.margin_points: is in accuracy points, and this study's data is a regression"
            " (compared by RMSE); remove it: the race then ends when the best separates or at"
            " race.max_seeds"
        ]
    return []


def _fused_problems(study: Study) -> list[str]:
    """Seeds train together (`training.execution: fused`) only as JAX programs, for the
    seeds of a grid's or a race's configurations, all trained for the same epochs."""
    if study.training.execution != "fused":
        return []
    fix = "or use training.execution: fast"
    if study.search is not None:
        return [
            "training.execution: fused trains the seeds of one configuration together, and a"
            " search trains one point per trial: use training.execution: fast"
        ]
    if study.training.early_stopping is not None:
        return [
            "training.execution: fused trains seeds together for the same epochs, and early"
            f" stopping would end each at its own: remove training.early_stopping, {fix}"
        ]
    named = (study.grid or {}).get("backend")
    backends = set(named) if isinstance(named, list) else {process_backend()}
    if backends != {"jax"}:
        where = "grid.backend lists" if isinstance(named, list) else "this process runs"
        return [
            "training.execution: fused trains seeds together as one JAX program, but"
            f" {where} {', '.join(sorted(map(str, backends)))}: set KERAS_BACKEND=jax"
            f" (and grid.backend: [jax] if named), {fix}"
        ]
    return []


def _budget_problems(study: Study) -> list[str]:
    """A budget in weights (`params`) chooses each configuration's units: naming units too
    would say two sizes at once."""
    grid = study.grid or {}
    budget = [
        w
        for w, named in (("model.params", study.model.params), ("grid.params", grid.get("params")))
        if named is not None
    ]
    units = [
        where
        for where, named in (
            ("model.units", "units" in study.model.model_fields_set),
            ("grid.units", "units" in grid),
            ("search.space.units", study.search is not None and "units" in study.search.space),
        )
        if named
    ]
    if budget and units:
        return [
            f"{' and '.join(budget + units)}: a parameter budget (params) chooses each"
            f" configuration's units; name params or units, not both (remove {', '.join(units)})"
        ]
    return []


def _budgets_too_small(study: Study) -> list[str]:
    """A budget below a configuration's one-unit model would train that model whatever the
    budget says: a slip (20 for 20000), not a size. Expands the grid: a valid one only."""
    from suite.schema import config_label
    from suite.study.model_size import model_size

    grid = study.grid or {}
    if study.grid is None or (study.model.params is None and "params" not in grid):
        return []
    where = "grid.params" if "params" in grid else "model.params"
    problems: dict[str, str] = {}
    for spec in study.runs:
        m = spec.model
        smallest = model_size(m, spec.data.input_shape, spec.data.outputs).parameters
        if m.units == 1 and smallest > (budget := m.params or 0):
            name = config_label(m.cell, m.bidirectional, m.layers)
            problems.setdefault(
                f"{name} {budget}",
                f"{where}: a budget of {budget:,} weights is below the smallest {name}"
                f" ({smallest:,} weights at 1 unit per direction); give at least {smallest:,}",
            )
    return list(problems.values())


def _grid_size_problem(grid: Mapping[str, Sequence[Any]]) -> str | None:
    runs = math.prod(len(values) for values in grid.values())
    if runs <= MAX_GRID_RUNS:
        return None
    factors = " x ".join(
        f"{key} {len(values):,}" for key, values in grid.items() if len(values) > 1
    )
    return (
        f"grid: {runs:,} runs ({factors}); a study holds at most {MAX_GRID_RUNS:,}; split it into"
        " several studies or use a search: section"
    )


def _value_list_problems(study: Study, where: str, key: str, values: Sequence[Any]) -> list[str]:
    """Each value valid for `key`, and none the same as an earlier one once read (`1e-3` and
    `1.0e-3`, `32` and `32.0`, `true` and `1` would train the same run twice)."""
    problems: list[str] = []
    first_index: dict[Any, int] = {}  # read value -> where it was first listed
    for i, value in enumerate(values):
        read, problem = _read_value(study, key, value)
        if problem:
            problems.append(f"{where}[{i}]: {problem}")
        elif read in first_index:
            j = first_index[read]
            if type(values[j]) is type(value) and values[j] == value:
                problems.append(
                    f"{where}[{i}]: {_shown(value)} is listed twice (also {where}[{j}]);"
                    " list it once"
                )
            else:
                problems.append(
                    f"{where}[{i}]: {_shown(value)} is the same value as {where}[{j}]"
                    f" ({_shown(values[j])}) once read; list it once"
                )
        else:
            first_index[read] = i
    return problems


# A budget in weights is a grid axis only: a search varies units.
SEARCHABLE = {
    k: v
    for k, v in GRID_SECTIONS.items()
    if k not in {"seed", "backend", "params", "dataset", "archive", "file"}
}
# Searchable numbers by kind, from the study model's own field types.
INTEGER_FIELDS = {k for k in SEARCHABLE if numeric_fields().get(k) is int}
FLOAT_FIELDS = {k for k in SEARCHABLE if numeric_fields().get(k) is float}


def _search_problems(study: Study) -> list[str]:
    """A search space that Optuna can sample and whose every value is a valid study field."""
    assert study.search is not None
    problems: list[str] = []
    if not study.search.space:
        return [
            "search.space: empty; give at least one parameter, e.g.  units: {low: 16, high: 128}"
        ]
    for name, param in study.search.space.items():
        where = f"search.space.{name}"
        if name not in SEARCHABLE:
            problems.append(f"{where}: unknown parameter; allowed: {', '.join(SEARCHABLE)}")
            continue
        problems += [f"{where}: {p}" for p in _search_param_problems(study, name, param)]
    if not problems:
        problems += _enqueue_problems(study)
    return problems


def _enqueue_problems(study: Study) -> list[str]:
    """Each enqueued point inside the space (Optuna fails on a value not among the choices and
    trains one outside low..high), and no point listed twice once read."""
    assert study.search is not None
    space = study.search.space
    problems: list[str] = []
    first_index: dict[tuple[tuple[str, Any], ...], int] = {}
    for i, point in enumerate(study.search.enqueue):
        read_point: dict[str, Any] = {}
        for name, value in point.items():
            where = f"search.enqueue[{i}].{name}"
            if name not in space:
                problems.append(f"{where}: not a parameter of search.space")
                continue
            read, problem = _read_value(study, name, value)
            problem = problem or _outside_space(name, space[name], value, read)
            if problem:
                problems.append(f"{where}: {problem}")
            read_point[name] = read
        identity = tuple(sorted(read_point.items()))
        if len(read_point) == len(point) and identity in first_index:
            problems.append(
                f"search.enqueue[{i}]: the same point as search.enqueue[{first_index[identity]}]"
                " once read; list it once"
            )
        first_index.setdefault(identity, i)
    return problems


def _outside_space(name: str, param: SearchParam, value: Any, read: Any) -> str | None:
    if param.choices is not None:
        # Optuna looks the enqueued value up in the choices as given, by equality.
        if value not in param.choices:
            choices = ", ".join(map(_shown, param.choices))
            return f"{_shown(value)} is not one of search.space.{name}.choices ({choices})"
        return None
    assert param.low is not None and param.high is not None
    if not param.low <= read <= param.high:
        return (
            f"{_shown(value)} is outside search.space.{name} ({param.low:g} .. {param.high:g});"
            " Optuna would train it outside the space, so pick a value in range"
        )
    return None


def _search_param_problems(study: Study, name: str, param: SearchParam) -> list[str]:
    bounds = param.low is not None or param.high is not None
    if param.choices is not None:
        if bounds or param.log or param.step is not None:
            return ["give either choices or low/high (with log, step), not both"]
        if not param.choices:
            return ["choices: empty list; give at least one value"]
        return _value_list_problems(study, "choices", name, param.choices)
    if name not in INTEGER_FIELDS | FLOAT_FIELDS:
        return [f"{name} takes choices (e.g. {{choices: [...]}}), not a low/high range"]
    if param.low is None or param.high is None:
        return ["needs both low and high (or choices)"]
    problems = []
    if param.low >= param.high:
        problems.append(f"low must be below high, got low={param.low} high={param.high}")
    if param.log and param.low <= 0:
        problems.append(f"log scale needs low > 0, got low={param.low}")
    if param.log and param.step is not None:
        problems.append("log and step cannot be combined (Optuna samples one or the other)")
    if name in INTEGER_FIELDS and not (
        float(param.low).is_integer() and float(param.high).is_integer()
    ):
        problems.append(f"{name} is an integer: low and high must be whole numbers")
    if name in INTEGER_FIELDS and param.step is not None and not param.step.is_integer():
        problems.append(f"{name} is an integer: step must be a whole number, got {param.step}")
    for end in ("low", "high"):
        value = getattr(param, end)
        value = int(value) if name in INTEGER_FIELDS else value
        if problem := _read_value(study, name, value)[1]:
            problems.append(f"{end}: {problem}")
    return problems


def _read_value(study: Study, key: str, value: Any) -> tuple[Any, str | None]:
    """`value` as it lands in its section once validated (`'1e-3'` -> 0.001), or why it
    cannot: (read value, None) or (None, problem)."""
    section = GRID_SECTIONS[key]
    if section == "seed":
        return (None, problem) if (problem := seed_problem(value)) else (value, None)
    if section == "backend":
        if value in BACKENDS:
            return value, None
        return None, f"a backend is one of {', '.join(BACKENDS)}, got {_shown(value)}"
    if section == "dataset":
        try:
            return dataset_section(study.data, value), None
        except ValidationError as err:
            first = err.errors()[0]
            where = _loc(first["loc"])
            message = _plain_message(first)
            if first["type"] == "extra_forbidden":
                message = f"unknown key; allowed keys here: {', '.join(_user_keys(DataConfig))}"
            return None, f"{where + ': ' if where else ''}{message}"
        except ValueError as err:
            return None, str(err)
    base = getattr(study, section)
    try:
        read = type(base).model_validate({**base.model_dump(exclude_unset=True), key: value})
    except ValidationError as err:
        return None, _with_input(_plain_message(err.errors()[0]), value)
    return getattr(read, key), None


def _describe(error: Mapping[str, Any]) -> str:
    loc = _loc(error["loc"])
    if error["type"] == "extra_forbidden":
        allowed = _allowed_keys(error["loc"][:-1])
        hint = f"; allowed keys here: {', '.join(allowed)}" if allowed else ""
        return f"{loc}: unknown key{hint}"
    if error["type"] == "missing":
        return f"{loc}: required key is missing"
    message = _plain_message(error)
    if error["type"] == "value_error" or not error["loc"]:
        return f"{loc or 'study'}: {message}"
    return f"{loc}: {_with_input(message, error.get('input'))}"


def _with_input(message: str, value: Any) -> str:
    """The message and the value it refused, once: pydantic's own messages sometimes end with
    what they got ("got a number with a fractional part")."""
    if ", got " in message:
        return f"{message} ({_shown(value)})"
    return f"{message}, got {_shown(value)}"


def _plain_message(error: Mapping[str, Any]) -> str:
    if error["type"] == "finite_number":
        return "input should be a finite number (.inf and .nan are not allowed)"
    message = str(error["msg"])
    message = message.removeprefix("Value error, ")
    return message[:1].lower() + message[1:]


def _loc(parts: Sequence[Any]) -> str:
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif str(part).startswith("function-after["):
            continue
        else:
            text += f".{part}" if text else str(part)
    return text


def _allowed_keys(parent: Sequence[Any]) -> list[str]:
    """The keys the model at `parent` accepts, found by walking the Study's field types."""
    model: type[BaseModel] = Study
    for part in parent:
        annotation = model.model_fields.get(str(part))
        if annotation is None:
            return []
        candidates = [annotation.annotation, *getattr(annotation.annotation, "__args__", ())]
        nested = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
        if not nested:
            return []
        model = nested[0]
    return _user_keys(model)


def _user_keys(model: type[BaseModel]) -> list[str]:
    """The keys a user may write: not the ones the suite fills in itself (a file's digest)."""
    return [key for key in model.model_fields if key not in SUITE_FILLED]


# A value shown in a message is cut short: a pasted list of a million values, or YAML aliases
# nested into an exponentially large structure, must not become a message of that size.
_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxlist, _REPR.maxdict = 1, 6, 6
_REPR.maxstring, _REPR.maxother, _REPR.maxlong = 80, 80, 40


def _shown(value: Any) -> str:
    return _REPR.repr(value)
