/*
 * ECharts glue for server-rendered pages.
 *
 *   <div class="chart" data-echarts="sales-option"></div>
 *   {{ option|json_script:"sales-option" }}
 *
 * Load echarts first, then this file, in the page's {% block extra_js %}. Every [data-echarts]
 * element is initialised from the JSON option in the <script type="application/json"> whose id it
 * names: on page load and after each htmx swap (htmx:afterSettle). Charts follow their container's
 * size and are disposed when htmx removes them.
 *
 * Formatter convention: JSON cannot carry functions, so any "formatter" or "valueFormatter" key
 * whose value is the name of a window.stFormat function is replaced by that function, e.g.
 *   {"yAxis": {"axisLabel": {"formatter": "cny"}}, "tooltip": {"valueFormatter": "cny"}}
 * The function gets the value (or params.value, for series label formatters). Any other string,
 * such as an ECharts template "{value}%", is left alone.
 */
(function () {
  "use strict";

  const isZh = () => document.documentElement.lang.toLowerCase().startsWith("zh");

  // Money in minor units (hundredths in every currency), as the cards show it
  // (core/money.py format_amount) in the company's currency, which base.html puts on <html>:
  // 1234.5万 / 1.23亿 / US$1234.5万 in Chinese, ¥231.14M / $1.2B / $35K in English.
  // (The name is historical: it formats every currency.)
  function cny(fen) {
    const root = document.documentElement.dataset;
    const symbol = root.currencySymbol || "";
    const digits = Number(root.currencyDigits || 2);
    const value = Number(fen) / 100;
    const abs = Math.abs(value);
    const sign = value < 0 ? "-" : "";
    if (!isZh()) {
      const fmt = (v, unit, places) =>
        sign + symbol + v.toLocaleString("en-US", { maximumFractionDigits: places }) + unit;
      if (abs >= 1e9) return fmt(abs / 1e9, "B", 2);
      if (abs >= 1e6) return fmt(abs / 1e6, "M", 2);
      if (abs >= 1e4) return fmt(abs / 1e3, "K", 1);
      return fmt(abs, "", Math.min(2, digits));
    }
    const fmt = (v, unit, places) =>
      sign + symbol + v.toLocaleString("zh-CN", { maximumFractionDigits: places, useGrouping: false }) + unit;
    if (abs >= 1e8) return fmt(abs / 1e8, "亿", 2);
    if (abs >= 1e4) return fmt(abs / 1e4, "万", 2);
    return fmt(abs, "", Math.min(2, digits));
  }

  // A name with its share from the option's "stShares" map, computed on the server so that
  // the shares add up to exactly 100.0%: "华东 35.2%".
  function share(name, option) {
    const pct = (option.stShares || {})[name];
    return pct ? `${name} ${pct}` : name;
  }

  window.stFormat = { cny, share };
  // Formatters that read a name (legend entries, pie labels) rather than a value.
  const BY_NAME = new Set(["share"]);

  function resolveFormatters(node, option) {
    if (!node || typeof node !== "object") return;
    for (const [key, value] of Object.entries(node)) {
      if ((key === "formatter" || key === "valueFormatter") && Object.hasOwn(window.stFormat, value)) {
        const format = window.stFormat[value];
        node[key] = BY_NAME.has(value)
          ? (v) => format(v !== null && typeof v === "object" ? v.name : v, option)
          : (v) => format(v !== null && typeof v === "object" ? v.value : v, option);
      } else {
        resolveFormatters(value, option);
      }
    }
  }

  const resizer = new ResizeObserver((entries) => {
    for (const entry of entries) echarts.getInstanceByDom(entry.target)?.resize();
  });

  function initCharts() {
    for (const el of document.querySelectorAll("[data-echarts]")) {
      const source = document.getElementById(el.dataset.echarts);
      if (!source || echarts.getInstanceByDom(el)) continue;
      const option = JSON.parse(source.textContent);
      resolveFormatters(option, option);
      echarts.init(el, null, { locale: isZh() ? "ZH" : "EN" }).setOption(option);
      resizer.observe(el);
    }
  }

  document.addEventListener("htmx:afterSettle", initCharts);
  document.addEventListener("htmx:beforeCleanupElement", (event) => {
    const chart = echarts.getInstanceByDom(event.target);
    if (chart) {
      resizer.unobserve(event.target);
      chart.dispose();
    }
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", initCharts);
  } else {
    initCharts();
  }
})();
