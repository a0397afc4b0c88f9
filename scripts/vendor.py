"""Vendor the pinned front-end packages into src/salestarget/web/static/vendor/.

Usage: python scripts/vendor.py

Installs package-lock.json with `npm ci` in a temporary directory, copies the dist files listed
in FILES, strips sourceMappingURL comments (the maps are not shipped) and writes MANIFEST.json
with each package's version and each file's sha256. See docs/frontend.md.
"""

import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "src" / "salestarget" / "web" / "static" / "vendor"

# package -> {path inside the npm package: path inside vendor/<package>/}
FILES = {
    "bootstrap": {
        "dist/css/bootstrap.min.css": "css/bootstrap.min.css",
        "dist/js/bootstrap.bundle.min.js": "js/bootstrap.bundle.min.js",
        "LICENSE": "LICENSE",
    },
    "bootstrap-icons": {
        "font/bootstrap-icons.min.css": "bootstrap-icons.min.css",
        "font/fonts/bootstrap-icons.woff2": "fonts/bootstrap-icons.woff2",
        "font/fonts/bootstrap-icons.woff": "fonts/bootstrap-icons.woff",
        "LICENSE": "LICENSE",
    },
    "echarts": {
        "dist/echarts.min.js": "echarts.min.js",
        "LICENSE": "LICENSE",
    },
    "htmx.org": {
        "dist/htmx.min.js": "htmx.min.js",
        "LICENSE": "LICENSE",
    },
    "tabulator-tables": {
        "dist/js/tabulator.min.js": "js/tabulator.min.js",
        "dist/css/tabulator_bootstrap5.min.css": "css/tabulator_bootstrap5.min.css",
        "LICENSE": "LICENSE",
    },
}

SOURCE_MAP = re.compile(rb"\n?(?://# sourceMappingURL=\S*|/\*# sourceMappingURL=.*?\*/)[ \t]*")


def npm_ci(workdir: Path) -> Path:
    for name in ("package.json", "package-lock.json"):
        shutil.copy2(ROOT / name, workdir / name)
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("npm not found: install Node.js 20+ to refresh the vendored assets")
    subprocess.run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=workdir, check=True)
    return workdir / "node_modules"


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="salestarget-vendor-") as tmp:
        node_modules = npm_ci(Path(tmp))
        shutil.rmtree(VENDOR, ignore_errors=True)
        packages = []
        for package, files in FILES.items():
            source = node_modules / package
            version = json.loads((source / "package.json").read_text())["version"]
            entries = []
            for src, dest in files.items():
                data = (source / src).read_bytes()
                if dest.endswith((".js", ".css")):
                    data = SOURCE_MAP.sub(b"", data)
                target = VENDOR / package / dest
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
                entries.append({"path": f"{package}/{dest}", "sha256": hashlib.sha256(data).hexdigest()})
            packages.append({"package": package, "version": version, "files": entries})
    manifest = {"generated_by": "scripts/vendor.py", "packages": packages}
    (VENDOR / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n")
    for entry in packages:
        print(f"{entry['package']} {entry['version']}: {len(entry['files'])} files")


if __name__ == "__main__":
    main()
