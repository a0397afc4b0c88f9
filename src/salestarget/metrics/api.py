from ninja import Router, Schema

from salestarget.core.api_contract import responses
from salestarget.metrics import selectors
from salestarget.metrics.models import FiscalSettings, Metric

router = Router(tags=["metrics"])


class MetricOut(Schema):
    id: int
    code: str
    name_zh: str
    name_en: str
    unit: str
    decimals: int
    direction: str
    aggregation: str
    fact_kind: str
    stage: str
    numerator_id: int | None
    denominator_id: int | None
    credit_rule: str


class FiscalOut(Schema):
    fy_start_month: int
    week_start: int
    country: str
    progress_basis: str
    currency: str


@router.get("/", response=responses(list[MetricOut]))
def list_metrics(request):
    return Metric.objects.restrict(request.user).filter(active=True)


@router.get("/fiscal-calendar", response=responses(FiscalOut))
def fiscal_calendar(request):
    """The calendar every page and recommendation computes with."""
    settings = FiscalSettings.current()
    cal = selectors.fiscal_calendar(settings)
    return FiscalOut(
        fy_start_month=cal.start_month,
        week_start=cal.week_start,
        country=cal.country,
        progress_basis=cal.basis,
        currency=settings.currency,
    )
