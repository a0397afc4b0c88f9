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

  // Money in minor units (fen): 1234.5万 / 1.23亿 in Chinese, 12,345,000 in English.
  function cny(fen) {
    const yuan = Number(fen) / 100;
    if (!isZh()) return yuan.toLocaleString("en-US", { maximumFractionDigits: 2 });
    const fmt = (value, unit) =>
      value.toLocaleString("zh-CN", { maximumFractionDigits: 2, useGrouping: false }) + unit;
    const abs = Math.abs(yuan);
    if (abs >= 1e8) return fmt(yuan / 1e8, "亿");
    if (abs >= 1e4) return fmt(yuan / 1e4, "万");
    return fmt(yuan, "");
  }

  window.stFormat = { cny };

  function resolveFormatters(node) {
    if (!node || typeof node !== "object") return;
    for (const [key, value] of Object.entries(node)) {
      if ((key === "formatter" || key === "valueFormatter") && Object.hasOwn(window.stFormat, value)) {
        const format = window.stFormat[value];
        node[key] = (v) => format(v !== null && typeof v === "object" ? v.value : v);
      } else {
        resolveFormatters(value);
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
      resolveFormatters(option);
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
