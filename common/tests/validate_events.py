#!/usr/bin/env python3
"""Checks event files against common/schemas/ with a real JSON Schema validator.

usage: validate_events.py SCHEMA_DIR EVENT_FILE...

Each event is validated (draft 2020-12, formats checked) against
SCHEMA_DIR/<its "type">.json; envelope.json and defs.json are found by their
$id. Prints one line per file, "ok FILE" or "invalid FILE: REASON", and exits 0
when every file is valid, 1 when any is invalid, 2 on a usage or schema error.
Used by common/tests/test_event_schemas.c; other suites may call it on the
events they produce.

The JSON is read the way the C side (jansson) reads it, so that both judge the
same document: strict UTF-8, no duplicate keys, no NaN or Infinity, no NUL or
lone surrogate in a string, integers within int64, reals finite.
Python's re lets a final '$' match before a trailing newline; the schemas mean
ECMA-262's '$' (end of input), so patterns are checked with '\\Z' instead.
"""
import json
import math
import os
import re
import sys

import jsonschema
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

TYPE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]{0,63}\Z")


def ecma_anchors(schema):
    """SCHEMA with every pattern's final '$' made '\\Z' (see the module doc).
    Done on the documents, not in a validator subclass: a $ref into another
    resource picks its validator class by that resource's $schema again."""
    if isinstance(schema, dict):
        return {k: (v[:-1] + "\\Z" if k == "pattern" and isinstance(v, str)
                    and v.endswith("$") and not v.endswith("\\$") else ecma_anchors(v))
                for k, v in schema.items()}
    if isinstance(schema, list):
        return [ecma_anchors(v) for v in schema]
    return schema


def check_scalars(value):
    if isinstance(value, dict):
        for key, member in value.items():
            check_scalars(key)
            check_scalars(member)
    elif isinstance(value, list):
        for member in value:
            check_scalars(member)
    elif isinstance(value, str):
        if "\0" in value or any(0xD800 <= ord(c) <= 0xDFFF for c in value):
            raise ValueError("NUL or lone surrogate in a string")
    elif isinstance(value, bool):
        pass
    elif isinstance(value, int):
        if not -(2**63) <= value < 2**63:
            raise ValueError("integer out of int64 range")
    elif isinstance(value, float) and not math.isfinite(value):
        raise ValueError("real number overflow")


def load_strict(path):
    def pairs(members):
        keys = [k for k, _ in members]
        if len(set(keys)) != len(keys):
            raise ValueError("duplicate object key")
        return dict(members)

    def constant(name):
        raise ValueError(f"{name} is not JSON")

    with open(path, "rb") as f:
        text = f.read().decode("utf-8")
    doc = json.loads(text, object_pairs_hook=pairs, parse_constant=constant)
    check_scalars(doc)
    return doc


def load_registry(schema_dir):
    resources = []
    for name in sorted(os.listdir(schema_dir)):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(schema_dir, name), encoding="utf-8") as f:
            schema = json.load(f)
        Draft202012Validator.check_schema(schema)
        schema = ecma_anchors(schema)
        resources.append((schema["$id"], DRAFT202012.create_resource(schema)))
    return Registry().with_resources(resources)


def problem(schema_dir, registry, path):
    """None if the event at PATH is valid, else why not."""
    try:
        doc = load_strict(path)
    except (ValueError, UnicodeDecodeError) as e:
        return f"not strict JSON: {e}"
    etype = doc.get("type") if isinstance(doc, dict) else None
    if not isinstance(etype, str) or not TYPE_NAME.match(etype):
        return "no usable \"type\""
    schema_path = os.path.join(schema_dir, etype + ".json")
    if not os.path.exists(schema_path):
        return f"no schema for type {etype}"
    with open(schema_path, encoding="utf-8") as f:
        schema = ecma_anchors(json.load(f))
    validator = Draft202012Validator(schema, registry=registry,
                                     format_checker=Draft202012Validator.FORMAT_CHECKER)
    error = jsonschema.exceptions.best_match(validator.iter_errors(doc))
    if error is None:
        return None
    where = "/" + "/".join(str(p) for p in error.absolute_path)
    return f"{where}: {error.message}"


def main(argv):
    if len(argv) < 3:
        print(__doc__.splitlines()[2], file=sys.stderr)
        return 2
    schema_dir = argv[1]
    try:
        registry = load_registry(schema_dir)
    except (OSError, ValueError, KeyError, jsonschema.SchemaError) as e:
        print(f"schema error in {schema_dir}: {e}", file=sys.stderr)
        return 2
    status = 0
    for path in argv[2:]:
        try:
            why = problem(schema_dir, registry, path)
        except OSError as e:
            print(f"cannot read {path}: {e}", file=sys.stderr)
            return 2
        if why is None:
            print(f"ok {path}")
        else:
            print(f"invalid {path}: {why}".replace("\n", "\\n"))
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
