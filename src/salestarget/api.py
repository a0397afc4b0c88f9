"""The REST API at /api/v1 (OpenAPI at /api/v1/openapi.json, docs at /api/v1/docs, offline).

Each app contributes a router from its ``api.py``; every endpoint reads through
``visible_to(request.user)``. Anonymous callers get 401 everywhere.
"""

from ninja import NinjaAPI

from salestarget import __version__
from salestarget.accounts.api import router as accounts_router
from salestarget.accounts.auth import api_auth
from salestarget.actuals.api import router as actuals_router
from salestarget.catalog.api import router as catalog_router
from salestarget.metrics.api import router as metrics_router
from salestarget.org.api import router as org_router
from salestarget.targets.api import router as targets_router

api = NinjaAPI(
    title="SalesTarget API",
    version=__version__,
    description="SalesTarget 销售目标管理: master data, actuals, targets and tracking.",
    auth=api_auth,
    urls_namespace="api",
)
api.add_router("/accounts", accounts_router)
api.add_router("/org", org_router)
api.add_router("/catalog", catalog_router)
api.add_router("/metrics", metrics_router)
api.add_router("/actuals", actuals_router)
api.add_router("/targets", targets_router)
