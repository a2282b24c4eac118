#!/usr/bin/env python3
"""Validates OpenVEX documents against the OpenVEX project's own JSON schema
(tests/fixtures/openvex/openvex_json_schema.json, see SOURCE.md there) with
Python `jsonschema`, Draft 2020-12, formats checked.

Usage: validate_openvex.py FILE...   Exit 0 when every file is valid; else
prints each error with its JSON path and exits 1.
"""

import json
import pathlib
import sys

import jsonschema

# jsonschema checks "date-time" only when this is installed; without it the
# format would pass silently, so its absence is an error here.
import rfc3339_validator  # noqa: F401

SCHEMA = (
    pathlib.Path(__file__).resolve().parent.parent
    / "fixtures/openvex/openvex_json_schema.json"
)


def main(paths):
    schema = json.loads(SCHEMA.read_text())
    cls = jsonschema.Draft202012Validator
    cls.check_schema(schema)
    v = cls(schema, format_checker=cls.FORMAT_CHECKER)
    bad = 0
    for p in paths:
        try:
            doc = json.loads(pathlib.Path(p).read_bytes())
        except ValueError as e:
            print(f"{p}: not JSON: {e}")
            bad += 1
            continue
        errors = sorted(v.iter_errors(doc), key=lambda e: list(e.absolute_path))
        for e in errors:
            where = "/" + "/".join(str(x) for x in e.absolute_path)
            print(f"{p}: {where}: {e.message}")
        if errors:
            bad += 1
        else:
            print(f"{p}: valid OpenVEX 0.2.0 ({schema['$id']})")
    return 1 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__)
        sys.exit(2)
    sys.exit(main(sys.argv[1:]))
