/*
 * The scenarios pages: a delete asks first (forms with data-confirm), and a click on a unit's
 * bar or name in a comparison chart drills into that unit (the option's "stLinks", one URL or
 * null per category, in the order of the category axis).
 */
(function () {
  "use strict";

  document.addEventListener("submit", (event) => {
    const question = event.target.dataset?.confirm;
    if (question && !window.confirm(question)) event.preventDefault();
  });

  function linkCharts() {
    if (typeof echarts === "undefined") return;
    for (const el of document.querySelectorAll("[data-echarts]")) {
      const chart = echarts.getInstanceByDom(el);
      const source = document.getElementById(el.dataset.echarts);
      if (!chart || !source || el.dataset.stLinked) continue;
      const option = JSON.parse(source.textContent);
      const links = option.stLinks;
      if (!links) continue;
      el.dataset.stLinked = "1";
      const names = option.yAxis?.data || [];
      chart.on("click", (params) => {
        const index = params.componentType === "yAxis" ? names.indexOf(params.value) : params.dataIndex;
        const url = links[index];
        if (url) window.location.assign(url);
      });
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", linkCharts);
  } else {
    linkCharts();
  }
})();
