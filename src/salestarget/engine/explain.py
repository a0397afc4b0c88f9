"""Explanations attached to every engine result.

Planners must be able to answer "why is my target this number" without reading code, so every
allocation carries a structured record (for the API) that also renders as plain zh/en text (for the UI).
Notes are stored as a code plus parameters rather than as finished sentences so the same record can be
shown in either language and filtered per child.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from salestarget.core.money import DEFAULT_CURRENCY, get_currency

LANGS = ("zh", "en")

# Parameters with these names are amounts in fen and are shown as money.
_AMOUNT_KEYS = frozenset(
    {"value", "total", "parent", "children_total", "locked_total", "remaining", "level_total"}
)

METHODS: dict[str, dict[str, str]] = {
    "even": {"zh": "平均分摊", "en": "Even split"},
    "weights": {"zh": "按权重分配", "en": "By weights"},
    "history": {"zh": "比例分解法（按历史占比）", "en": "Historical share"},
    "seasonality": {"zh": "季节性（按工作日调整）", "en": "Seasonality (working-day adjusted)"},
    "profile": {"zh": "手工分布比例", "en": "Manual distribution profile"},
    "capability": {"zh": "能力/资源匹配法", "en": "Capability / resources"},
    "growth": {"zh": "历史增长法（去年 ×（1 + 增长率））", "en": "Growth on history (last year × (1 + g))"},
    "levels": {"zh": "底线/目标/挑战线", "en": "Floor / target / stretch levels"},
    "raking": {"zh": "多维一致性（迭代比例拟合）", "en": "Multi-dimensional consistency (raking)"},
}

METHOD_DETAILS: dict[str, dict[str, str]] = {
    "even": {
        "zh": "上级目标在各项之间平均分配。",
        "en": "The parent target is divided equally.",
    },
    "weights": {
        "zh": "各项按给定权重的占比分配。",
        "en": "Each child receives its share of the given weights.",
    },
    "history": {
        "zh": "按过去 {periods} 期各项销售占上级销售的比例（逐期计算后加权平均）分配。",
        "en": "Each child receives its average share of the parent's sales over the past {periods} periods.",
    },
    "seasonality": {
        "zh": "先算过去各年每个工作日的销售额（日均），得出各期日均指数的多年平均，"
        "再乘以目标年各期的工作日数并归一化；因此春节等移动假期按目标年的工作日计算。",
        "en": "Sales per working day in each past year give an average daily-rate index per period, "
        "which is multiplied by the target year's working days and normalised, so moving holidays "
        "(e.g. Spring Festival) follow the target year's calendar.",
    },
    "profile": {
        "zh": "按给定的百分比分布分配（合计 100%）。",
        "en": "The given percentage distribution (totalling 100%) is applied.",
    },
    "capability": {
        "zh": "权重 = 等级系数 × 人数 × 新人爬坡系数 × 市场潜力（未提供的因素按 1 计）。",
        "en": "Weight = tier multiplier × headcount × new-hire ramp × market potential (missing factors count as 1).",
    },
    "growth": {
        "zh": "各项权重 = 去年实际 ×（1 + 增长率）。",
        "en": "Each child's weight is last year's actual × (1 + growth).",
    },
    "levels": {
        "zh": "与目标线的差额按各项目标的比例分解，因此各项满足 底线 ≤ 目标 ≤ 挑战线。",
        "en": "The difference to the target is split in proportion to the children's targets, "
        "so each child keeps floor ≤ target ≤ stretch.",
    },
    "raking": {
        "zh": "以历史数据为种子，迭代按各维度合计缩放至收敛（{iterations} 次，最大偏差 {max_error:.3g} 分），"
        "再做受控取整，使每个维度的合计都精确等于给定值。",
        "en": "Seeded by history, scaled to every axis total until converged ({iterations} iterations, "
        "max deviation {max_error:.3g} fen), then rounded so that every axis total is exact.",
    },
}

NOTES: dict[str, dict[str, str]] = {
    "locked": {
        "zh": "{label} 已锁定/手工设定为 {value}，其余金额分给其他项。",
        "en": "{label} is locked/set by hand at {value}; the rest goes to the others.",
    },
    "bound_min": {
        "zh": "{label} 按下限提高到 {value}。",
        "en": "{label} was raised to its minimum {value}.",
    },
    "bound_max": {
        "zh": "{label} 按上限降低到 {value}。",
        "en": "{label} was capped at its maximum {value}.",
    },
    "over_assignment": {
        "zh": "超额分配：下级合计为上级 {parent} 的 {pct:g}%，即 {children_total}。",
        "en": "Over-assignment: children total {pct:g}% of the parent {parent}, i.e. {children_total}.",
    },
    "zero_weights_even": {
        "zh": "所有权重为零，按要求改为平均分摊。",
        "en": "All weights were zero; split evenly as requested.",
    },
    "min_share": {
        "zh": "{labels} 没有历史数据，按最低占比 {share:.2%} 分配。",
        "en": "{labels} have no history and receive the minimum share {share:.2%}.",
    },
    "no_history": {
        "zh": "{labels} 没有历史数据，分得 0；如需分配请设置最低占比。",
        "en": "{labels} have no history and receive nothing; set a minimum share to include them.",
    },
    "negative_history": {
        "zh": "{labels} 的历史数据含负数（退货），按 0 计算。",
        "en": "{labels} have negative history (returns), counted as zero.",
    },
    "tier": {
        "zh": "{labels} 等级 {tier}，系数 {multiplier:g}。",
        "en": "{labels}: tier {tier}, multiplier {multiplier:g}.",
    },
    "ramp": {
        "zh": "{labels} 处于新人爬坡期，按满额的 {factor:.0%} 计算。",
        "en": "{labels} ramping up as a new hire: counts at {factor:.0%} of a full target.",
    },
    "vacancy": {
        "zh": "{labels} 为待招聘岗位，预计 {start} 到岗。",
        "en": "{labels} is a vacancy expected to start on {start}.",
    },
    "naive_growth": {
        "zh": "单独使用历史增长法较为粗糙：未考虑季节性、人员能力与市场变化，建议结合其他方法。",
        "en": "Growth on history alone is the naive method: it ignores seasonality, capacity and market "
        "changes; combine it with another method.",
    },
    "level_factor": {
        "zh": "{level}合计 {level_total}（目标 × {factor}）。",
        "en": "{level} total {level_total} (target × {factor}).",
    },
    "level_set": {
        "zh": "{level}合计 {level_total}（单独设定）。",
        "en": "{level} total {level_total} (set independently).",
    },
    "filled_zero_seed": {
        "zh": "维度 {axis} 的 {labels} 没有种子数据但合计为正，已平均填充。",
        "en": "Axis {axis} entries {labels} had no seed data but a positive total; filled evenly.",
    },
    "not_converged": {
        "zh": "迭代未在 {iterations} 次内收敛到 {tol:g}（最大偏差 {max_error:.3g}）。",
        "en": "Did not converge to {tol:g} within {iterations} iterations (max deviation {max_error:.3g}).",
    },
    # Forecast notes (engine.forecast); month labels arrive as `labels`.
    "forecast_no_history": {
        "zh": "没有历史数据，预测为 0。",
        "en": "No history: the forecast is zero.",
    },
    "months_interpolated": {
        "zh": "{count} 个月的数据缺失，已按前后月份插值。",
        "en": "{count} months without figures were interpolated from their neighbours.",
    },
    "negative_months": {
        "zh": "历史中有负数月份（退货），预测值和区间下限可能为负。",
        "en": "Negative months (returns) in the history: forecasts and lower bounds may be negative.",
    },
    "returns_floored": {
        "zh": "历史中有负数月份（退货），但总额为正：预测和推荐目标不低于 0。",
        "en": "Negative months (returns) in the history, but a positive total: forecasts and targets stay at zero or above.",
    },
    "history_all_zero": {
        "zh": "历史数据全部为 0。",
        "en": "The history is all zeros.",
    },
    "short_history": {
        "zh": "只有 {months} 个月历史，直接使用 {model}，未做模型选择。",
        "en": "Only {months} months of history: using {model} without model selection.",
    },
    "no_backtest": {
        "zh": "历史太短，无法回测，使用 SeasonalNaive。",
        "en": "The history is too short for a backtest: using SeasonalNaive.",
    },
    "spikes_capped": {
        "zh": "{labels}的数额远高于平常且没有重复出现（疑似一次性大单），建模时按正常范围的上限计；"
        "回测和区间仍按实际数额。",
        "en": "{labels} stood far above the usual range and did not repeat (one-off deals?), so the models "
        "were fitted with them capped at the top of that range; the backtest and intervals still use "
        "the actual figures.",
    },
}

LEVELS = {
    "floor": {"zh": "底线", "en": "Floor"},
    "target": {"zh": "目标", "en": "Target"},
    "stretch": {"zh": "挑战线", "en": "Stretch"},
}

_HEADINGS = {
    "zh": {
        "method": "方法",
        "total": "上级目标",
        "unit": "取整单位",
        "items": "各项",
        "share": "占比",
        "adjustments": "调整",
        "warnings": "提示",
        "sep": "：",
        "stop": "。",
        "open": "（",
        "close": "）",
        "list_sep": "、",
    },
    "en": {
        "method": "Method",
        "total": "Parent target",
        "unit": "Rounding unit",
        "items": "Children",
        "share": "share",
        "adjustments": "Adjustments",
        "warnings": "Warnings",
        "sep": ": ",
        "stop": ". ",
        "open": " (",
        "close": ")",
        "list_sep": ", ",
    },
}


def format_amount(fen: int, lang: str = "zh", currency: str = DEFAULT_CURRENCY) -> str:
    """Render minor units (hundredths in every currency) the way planners read them in a
    sentence: whole 万 and the currency's word in zh when exact ("12万元", "12万美元"), otherwise
    the full amount ("1,234.50元"); in en the symbol first ("¥1,234.50", "$1,234.50"). A currency
    without minor units (yen) shows none."""
    cur = get_currency(currency)
    fen = int(fen)
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    whole, cents = divmod(fen, 100)
    if cur.digits == 0:
        whole, cents = (fen + 50) // 100, None
    shown = f"{whole:,}" if cents is None else f"{whole:,}.{cents:02d}"
    if lang == "zh":
        if fen and fen % 1_000_000 == 0:
            return f"{sign}{fen // 1_000_000:,}万{cur.unit_zh}"
        return f"{sign}{shown}{cur.unit_zh}"
    return f"{sign}{cur.symbol_en}{shown}"


class _Money:
    """Defers money formatting to str.format so templates stay plain format strings."""

    def __init__(self, fen: int, lang: str, currency: str = DEFAULT_CURRENCY) -> None:
        self.fen, self.lang, self.currency = fen, lang, currency

    def __format__(self, spec: str) -> str:
        return format_amount(self.fen, self.lang, self.currency)


def _check_lang(lang: str) -> None:
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}, got {lang!r}")


def jsonable(value: Any) -> Any:
    """Convert numpy scalars/arrays, dates and tuples so json.dumps accepts the result."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class Note:
    """One adjustment or warning; `labels`/`label` params tie it to specific children."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def text(self, lang: str = "zh", currency: str = DEFAULT_CURRENCY) -> str:
        _check_lang(lang)
        sep = _HEADINGS[lang]["list_sep"]
        shown: dict[str, Any] = {}
        for key, value in self.params.items():
            if key in _AMOUNT_KEYS:
                shown[key] = _Money(value, lang, currency)
            elif key == "labels":
                shown[key] = sep.join(str(v) for v in value)
            elif key == "level":
                shown[key] = LEVELS[value][lang]
            else:
                shown[key] = value
        return NOTES[self.code][lang].format(**shown)

    def concerns(self, label: str) -> bool:
        """Notes without a child reference concern every child."""
        if "label" in self.params:
            return self.params["label"] == label
        if "labels" in self.params:
            return label in self.params["labels"]
        return True

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "params": jsonable(self.params)}


@dataclass
class Explanation:
    """Why a parent value was split the way it was: method, inputs, shares, adjustments, warnings."""

    method: str
    total: int
    unit: int = 1
    labels: list[str] = field(default_factory=list)
    values: list[int] = field(default_factory=list)
    shares: list[float] = field(default_factory=list)
    inputs: dict[str, Any] = field(default_factory=dict)
    adjustments: list[Note] = field(default_factory=list)
    warnings: list[Note] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "method_name": {lang: METHODS[self.method][lang] for lang in LANGS},
            "total": int(self.total),
            "unit": int(self.unit),
            "labels": list(self.labels),
            "values": [int(v) for v in self.values],
            "shares": [float(s) for s in self.shares],
            "inputs": jsonable(self.inputs),
            "adjustments": [n.to_dict() for n in self.adjustments],
            "warnings": [n.to_dict() for n in self.warnings],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Explanation:
        """The inverse of ``to_dict``: an explanation kept as JSON reads as it was made."""

        def notes(items) -> list[Note]:
            return [Note(n["code"], dict(n.get("params", {}))) for n in items]

        return cls(
            method=data["method"],
            total=int(data["total"]),
            unit=int(data.get("unit", 1)),
            labels=list(data.get("labels", [])),
            values=[int(v) for v in data.get("values", [])],
            shares=[float(s) for s in data.get("shares", [])],
            inputs=dict(data.get("inputs", {})),
            adjustments=notes(data.get("adjustments", [])),
            warnings=notes(data.get("warnings", [])),
        )

    def text(
        self,
        lang: str = "zh",
        label: str | None = None,
        currency: str = DEFAULT_CURRENCY,
        names: Sequence[str] | None = None,
    ) -> str:
        """Human explanation; with `label`, only that child's line and the notes that concern it.
        `names`: the children as the reader calls them, in the order of `labels` (a month stored
        as "2027年4月" is "Apr 2027" to an English reader)."""
        _check_lang(lang)
        h = _HEADINGS[lang]
        sep = h["sep"]
        detail = METHOD_DETAILS[self.method][lang].format(**self.inputs)
        lines = [f"{h['method']}{sep}{METHODS[self.method][lang]}{h['stop']}{detail}"]
        lines.append(f"{h['total']}{sep}{format_amount(self.total, lang, currency)}")
        if self.unit != 1:
            lines.append(f"{h['unit']}{sep}{format_amount(self.unit, lang, currency)}")
        if label is not None and label not in self.labels:
            raise KeyError(f"{label!r} is not one of the explained children")
        rows = [i for i, name in enumerate(self.labels) if label is None or name == label]
        if rows:
            lines.append(f"{h['items']}{sep.strip()}")
            for i in rows:
                share = f"{h['share']} {self.shares[i]:.2%}" if self.shares else ""
                value = format_amount(self.values[i], lang, currency) if self.values else ""
                name = (names or self.labels)[i]
                lines.append(
                    f"  {name}{sep}{value}{h['open']}{share}{h['close']}"
                    if share
                    else f"  {name}{sep}{value}"
                )
        for heading, notes in (("adjustments", self.adjustments), ("warnings", self.warnings)):
            shown = [n for n in notes if label is None or n.concerns(label)]
            if shown:
                lines.append(f"{h[heading]}{sep.strip()}")
                lines.extend(f"  · {n.text(lang, currency)}" for n in shown)
        return "\n".join(lines)


def note(code: str, **params: Any) -> Note:
    return Note(code, params)
