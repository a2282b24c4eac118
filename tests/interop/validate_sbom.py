#!/usr/bin/env python3
"""Validates SBOM exports with third-party tools and reads their component sets.

usage: validate_sbom.py FILE...   (format from the extension)
  *.cdx.json   cyclonedx-python-lib JsonStrictValidator, CycloneDX 1.6
  *.cdx.xml    cyclonedx-python-lib XmlValidator, CycloneDX 1.6
  *.spdx.json, *.spdx   spdx-tools: parse_file + validate_full_spdx_document, SPDX 2.3
Prints one JSON object per file:
  {"file": F, "ok": true|false, "error": "...", "components": [[purl, name, version], ...]}
The component set is read with the standard library (CycloneDX) or with
spdx-tools' parser (SPDX), not with Evident's code; the released product
(metadata.component, the package the document DESCRIBES) is left out.
Exits 1 if any file failed.
"""
import json
import sys
import xml.etree.ElementTree as ET

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from cyclonedx.validation.xml import XmlValidator
from spdx_tools.spdx.model import RelationshipType
from spdx_tools.spdx.parser.parse_anything import parse_file
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

NS = "{http://cyclonedx.org/schema/bom/1.6}"


def cdx_json(path):
    with open(path) as f:
        text = f.read()
    err = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    comps = [[c.get("purl"), c["name"], c.get("version")] for c in json.loads(text).get("components", [])]
    return (None if err is None else str(err)[:2000]), comps


def cdx_xml(path):
    with open(path) as f:
        text = f.read()
    err = XmlValidator(SchemaVersion.V1_6).validate_str(text)
    comps = []
    root = ET.fromstring(text.encode())
    for c in root.findall(f"{NS}components/{NS}component"):
        get = lambda tag: (c.find(f"{NS}{tag}").text if c.find(f"{NS}{tag}") is not None else None)
        comps.append([get("purl"), get("name"), get("version")])
    return (None if err is None else str(err)[:2000]), comps


def spdx(path):
    doc = parse_file(path)
    msgs = validate_full_spdx_document(doc, "SPDX-2.3")
    err = None
    if msgs:
        err = "; ".join(m.validation_message for m in msgs[:5]) + f" ({len(msgs)} messages)"
    elif doc.creation_info.spdx_version != "SPDX-2.3":
        err = f"not SPDX-2.3: {doc.creation_info.spdx_version}"
    described = {r.related_spdx_element_id for r in doc.relationships
                 if r.relationship_type == RelationshipType.DESCRIBES and r.spdx_element_id == "SPDXRef-DOCUMENT"}
    comps = []
    for p in doc.packages:
        if p.spdx_id in described:
            continue
        purl = next((r.locator for r in p.external_references if r.reference_type == "purl"), None)
        comps.append([purl, p.name, p.version])
    return err, comps


failed = 0
for p in sys.argv[1:]:
    try:
        if p.endswith(".cdx.json"):
            err, comps = cdx_json(p)
        elif p.endswith(".cdx.xml"):
            err, comps = cdx_xml(p)
        elif p.endswith(".spdx.json") or p.endswith(".spdx"):
            err, comps = spdx(p)
        else:
            err, comps = "unknown extension", []
    except Exception as e:  # a parser exception is a failure too
        err, comps = f"{type(e).__name__}: {e}"[:2000], []
    failed += err is not None
    print(json.dumps({"file": p, "ok": err is None, "error": err, "components": sorted(comps, key=json.dumps)}), flush=True)
sys.exit(1 if failed else 0)
