"""The reference for SBOM ingest and export in tests/bench/ratios.sh:
cyclonedx-python-lib (the CycloneDX project's Python library, as .ci/setup
installs it) loading a CycloneDX JSON document into its model and writing
it back as CycloneDX 1.6 JSON. Prints PYLOAD <ms> and PYWRITE <ms> <bytes>.

    python3 tests/bench/cdx_python.py FILE
"""
import json, sys, time
from cyclonedx.model.bom import Bom
from cyclonedx.output.json import JsonV1Dot6
path = sys.argv[1]
t = time.perf_counter()
with open(path, 'rb') as f:
    data = json.load(f)
bom = Bom.from_json(data)
load = time.perf_counter() - t
t = time.perf_counter()
out = JsonV1Dot6(bom).output_as_string()
write = time.perf_counter() - t
print(f"PYLOAD {load*1000:.1f}")
print(f"PYWRITE {write*1000:.1f} {len(out)}")
