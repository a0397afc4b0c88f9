"""The REST API at /api/v1 (OpenAPI at /api/v1/openapi.json, docs at /api/v1/docs, offline).

Each app contributes a router from its ``api.py``; every endpoint reads through
``restrict(request.user, action)``. Anonymous callers get 401 everywhere.

The contract (``core/api_contract.py``, checked by ``tests/test_api_contract.py``): every error
answer is an ``ErrorOut`` ``{"detail": str, "errors": [{"loc", "message", "type"}]}``, produced
by the handlers at the end of this module; every operation documents each status it can answer
with; every parameter is bounded; lists come in pages of at most 1000 rows.
"""

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404
from django.utils.translation import gettext
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from salestarget import __version__
from salestarget.accounts.api import router as accounts_router
from salestarget.accounts.auth import api_auth
from salestarget.actuals.api import router as actuals_router
from salestarget.catalog.api import router as catalog_router
from salestarget.core.api_contract import ErrorOut
from salestarget.core.errors import DomainError
from salestarget.metrics.api import router as metrics_router
from salestarget.metrics.api import settings_router
from salestarget.org.api import router as org_router
from salestarget.targets.api import router as targets_router


class ContractAPI(NinjaAPI):
    """NinjaAPI whose validation errors name a body field as ``["body", "rows", 2, "date"]``
    (ninja would put the view's argument name after "body")."""

    def validation_error_from_error_contexts(self, error_contexts) -> ValidationError:
        errors = []
        for context in error_contexts:
            lone_body = getattr(context.model, "__read_from_single_attr__", None)
            for error in super().validation_error_from_error_contexts([context]).errors:
                loc = list(error["loc"])
                if lone_body and loc[:2] == ["body", lone_body]:
                    del loc[1]
                errors.append({**error, "loc": loc})
        return ValidationError(errors)


api = ContractAPI(
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
api.add_router("/settings", settings_router)
api.add_router("/actuals", actuals_router)
api.add_router("/targets", targets_router)
api.add_router("/targets", "salestarget.targets.scenario_api.router")
api.add_router("/targets", "salestarget.targets.grid_api.router")
api.add_router("/targets", "salestarget.targets.decompose_api.router")
api.add_router("/targets", "salestarget.targets.workflow_api.router")
api.add_router("/targets", "salestarget.targets.plan_file_api.router")
api.add_router("/tracking", "salestarget.tracking.api.router")
api.add_router("/alerts", "salestarget.alerts.api.router")

__all__ = ["ErrorOut", "api"]


# --- one error shape (ErrorOut) for every error answer ----------------------------------------

# ninja's own messages, in the user's language.
NINJA_MESSAGES = {
    "Cannot parse request body": lambda: gettext("The request body is not valid JSON."),
    "CSRF check Failed": lambda: gettext("The CSRF check failed: reload the page and try again."),
}
SHOWN_VALIDATION_ERRORS = 3


def error_response(request, status: int, detail: str, errors=(), headers=None):
    response = api.create_response(request, {"detail": detail, "errors": list(errors)}, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


# The validation errors a caller meets most, in the caller's language by their pydantic type (the
# type stays as it is for programs); any other keeps pydantic's English. QA: "请求无效：
# query.unit_id: Input should be a valid integer" read half Chinese, half English.
TYPE_MESSAGES = {
    "missing": lambda ctx: gettext("This field is required."),
    "int_parsing": lambda ctx: gettext("Give a whole number."),
    "int_type": lambda ctx: gettext("Give a whole number."),
    "int_from_float": lambda ctx: gettext("Give a whole number."),
    "float_parsing": lambda ctx: gettext("Give a number."),
    "decimal_parsing": lambda ctx: gettext("Give a number."),
    "bool_parsing": lambda ctx: gettext("Give true or false."),
    "date_type": lambda ctx: gettext("Give a date as YYYY-MM-DD."),
    "date_parsing": lambda ctx: gettext("Give a date as YYYY-MM-DD."),
    "date_from_datetime_parsing": lambda ctx: gettext("Give a date as YYYY-MM-DD."),
    "string_type": lambda ctx: gettext("Give a text."),
    "string_too_long": lambda ctx: gettext("At most %(n)s characters.") % {"n": ctx.get("max_length")},
    "string_too_short": lambda ctx: gettext("At least %(n)s characters.") % {"n": ctx.get("min_length")},
    "greater_than_equal": lambda ctx: gettext("At least %(n)s.") % {"n": ctx.get("ge")},
    "less_than_equal": lambda ctx: gettext("At most %(n)s.") % {"n": ctx.get("le")},
    "literal_error": lambda ctx: gettext("One of %(choices)s.") % {"choices": ctx.get("expected")},
    "enum": lambda ctx: gettext("One of %(choices)s.") % {"choices": ctx.get("expected")},
}


def _error_item(error) -> dict:
    if isinstance(error, dict) and "msg" in error:
        loc = [part if isinstance(part, int) else str(part) for part in error.get("loc", ())]
        kind = str(error.get("type", "invalid"))
        known = TYPE_MESSAGES.get(kind)
        message = known(error.get("ctx") or {}) if known else str(error["msg"])
        return {"loc": loc, "message": message, "type": kind}
    return {"loc": [], "message": str(error), "type": "invalid"}


def _validation_error(request, exc: ValidationError):
    items = [_error_item(e) for e in exc.errors]
    shown = "; ".join(
        f"{'.'.join(str(p) for p in item['loc'])}: {item['message']}" if item["loc"] else item["message"]
        for item in items[:SHOWN_VALIDATION_ERRORS]
    )
    if len(items) > SHOWN_VALIDATION_ERRORS:
        shown += " …"
    detail = gettext("The request is not valid: %(problems)s") % {"problems": shown}
    return error_response(request, 422, detail, items)


def _http_error(request, exc: HttpError):
    message = NINJA_MESSAGES.get(exc.message)
    return error_response(request, exc.status_code, message() if message else str(exc))


def _not_authenticated(request, exc: AuthenticationError):
    detail = gettext("Sign in, or send a personal API token as “Authorization: Bearer <token>”.")
    return error_response(request, 401, detail, headers={"WWW-Authenticate": "Bearer"})


def _not_found(request, exc: Http404):
    return error_response(request, 404, gettext("Not found, or not among what you may see."))


def _permission_denied(request, exc: PermissionDenied):
    return error_response(request, 403, str(exc) or gettext("You may not do this."))


def _too_large(request, exc: RequestDataTooBig):
    return error_response(request, 413, gettext("The request body is too large."))


def _refused(request, exc: DomainError):
    """A request the domain refuses (the one place a service error becomes a 400); any other
    exception is a bug and Django answers it with a logged 500."""
    return error_response(request, 400, str(exc))


api.add_exception_handler(ValidationError, _validation_error)
api.add_exception_handler(HttpError, _http_error)
api.add_exception_handler(AuthenticationError, _not_authenticated)
api.add_exception_handler(Http404, _not_found)
api.add_exception_handler(PermissionDenied, _permission_denied)
api.add_exception_handler(RequestDataTooBig, _too_large)
api.add_exception_handler(DomainError, _refused)
