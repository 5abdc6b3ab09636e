"""Problems said for people: pydantic's errors as one line each (the key path, what is
allowed, the value refused), and values shown cut short."""

from __future__ import annotations

import reprlib
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from suite.study.config import Study
from suite.study.data_config import SUITE_FILLED

# Keys an older study file may hold, said with what replaced them.
RENAMED_KEYS = {("execution",): "renamed to workers (execution.workers is now workers.count)"}


def describe(error: Mapping[str, Any]) -> str:
    loc = key_path(error["loc"])
    if error["type"] == "extra_forbidden" and tuple(error["loc"]) in RENAMED_KEYS:
        return f"{loc}: {RENAMED_KEYS[tuple(error['loc'])]}"
    if error["type"] == "extra_forbidden":
        allowed = _allowed_keys(error["loc"][:-1])
        hint = f"; allowed keys here: {', '.join(allowed)}" if allowed else ""
        return f"{loc}: unknown key{hint}"
    if error["type"] == "missing":
        return f"{loc}: required key is missing"
    message = plain_message(error)
    if error["type"] == "value_error" or not error["loc"]:
        return f"{loc or 'study'}: {message}"
    return f"{loc}: {with_input(message, error.get('input'))}"


def with_input(message: str, value: Any) -> str:
    """The message and the value it refused, once: pydantic's own messages sometimes end with
    what they got ("got a number with a fractional part")."""
    if ", got " in message:
        return f"{message} ({shown(value)})"
    return f"{message}, got {shown(value)}"


def plain_message(error: Mapping[str, Any]) -> str:
    if error["type"] == "finite_number":
        return "input should be a finite number (.inf and .nan are not allowed)"
    message = str(error["msg"])
    message = message.removeprefix("Value error, ")
    return message[:1].lower() + message[1:]


def key_path(parts: Sequence[Any]) -> str:
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
    return user_keys(model)


def user_keys(model: type[BaseModel]) -> list[str]:
    """The keys a user may write: not the ones the suite fills in itself (a file's digest)."""
    return [key for key in model.model_fields if key not in SUITE_FILLED]


# A value shown in a message is cut short: a pasted list of a million values, or YAML aliases
# nested into an exponentially large structure, must not become a message of that size.
_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxlist, _REPR.maxdict = 1, 6, 6
_REPR.maxstring, _REPR.maxother, _REPR.maxlong = 80, 80, 40


def shown(value: Any) -> str:
    return _REPR.repr(value)
