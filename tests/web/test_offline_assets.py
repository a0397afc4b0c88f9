"""The UI must work offline: no CDN references, and vendored assets match MANIFEST.json."""

import hashlib
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "salestarget"
APP_STATIC = PACKAGE / "web" / "static" / "salestarget"
VENDOR = PACKAGE / "web" / "static" / "vendor"

# src= / href= / url( / @import whose target is absolute http(s) or protocol-relative (//cdn...).
EXTERNAL = re.compile(
    r"""(?:\b(?:src|href)\s*=\s*|\burl\(\s*|@import\s+(?:url\(\s*)?)["']?\s*(?:https?:)?//""",
    re.IGNORECASE,
)
CSS_REF = re.compile(r"""url\(\s*["']?([^"')]+)|@import\s+["']([^"']+)""", re.IGNORECASE)


def own_files():
    templates = [p for d in PACKAGE.glob("**/templates") for p in d.rglob("*")]
    return sorted(p for p in [*templates, *APP_STATIC.rglob("*")] if p.is_file())


def test_templates_and_app_static_reference_no_external_urls():
    files = own_files()
    assert files, "no templates or static files found"
    hits = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in files
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if EXTERNAL.search(line)
    ]
    assert not hits, "external URLs (vendor the asset instead):\n" + "\n".join(hits)


def test_vendored_files_match_manifest():
    manifest = json.loads((VENDOR / "MANIFEST.json").read_text())
    recorded = {f["path"]: f["sha256"] for package in manifest["packages"] for f in package["files"]}
    on_disk = {
        p.relative_to(VENDOR).as_posix()
        for p in VENDOR.rglob("*")
        if p.is_file() and p.name != "MANIFEST.json"
    }
    assert on_disk == set(recorded), "vendor/ and MANIFEST.json disagree; run python scripts/vendor.py"
    mismatched = [
        path
        for path, digest in recorded.items()
        if hashlib.sha256((VENDOR / path).read_bytes()).hexdigest() != digest
    ]
    assert not mismatched, f"sha256 mismatch (edited by hand?): {mismatched}"


def test_vendored_css_references_only_local_files():
    problems = []
    for css in VENDOR.rglob("*.css"):
        for match in CSS_REF.finditer(css.read_text(encoding="utf-8")):
            ref = (match[1] or match[2]).strip()
            if ref.startswith(("data:", "#")):
                continue
            if re.match(r"(?:[a-z]+:)?//", ref, re.IGNORECASE):
                problems.append(f"{css.relative_to(VENDOR)}: external {ref}")
            elif not (css.parent / re.split(r"[?#]", ref)[0]).is_file():
                problems.append(f"{css.relative_to(VENDOR)}: missing {ref}")
    assert not problems, "\n".join(problems)


def test_no_source_map_references():
    files = [*VENDOR.rglob("*.js"), *VENDOR.rglob("*.css"), *APP_STATIC.rglob("*")]
    offenders = [
        p.relative_to(ROOT).as_posix() for p in files if p.is_file() and b"sourceMappingURL" in p.read_bytes()
    ]
    assert not offenders, f"sourceMappingURL without a shipped map (would 404): {offenders}"
