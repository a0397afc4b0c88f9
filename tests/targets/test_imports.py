"""Only code that forecasts imports the forecasting libraries (seconds of start-up)."""

from __future__ import annotations

import os
import subprocess
import sys


def test_pages_api_form_models_and_command_do_not_import_statsforecast_or_pandas(tmp_path):
    modules = [
        "salestarget.targets.models",
        "salestarget.targets.api",
        "salestarget.targets.views",
        "salestarget.targets.forms",
        "salestarget.targets.tasks",
        "salestarget.targets.management.commands.recommend",
        "salestarget.api",
    ]
    code = (
        "import sys, django; django.setup(); "
        + "; ".join(f"import {m}" for m in modules)
        + "; print(sorted(m for m in ('statsforecast', 'pandas', 'numba', 'scipy') if m in sys.modules))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "salestarget.settings", "SALESTARGET_HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip().splitlines()[-1] == "[]"
