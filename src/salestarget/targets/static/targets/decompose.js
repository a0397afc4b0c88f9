/*
 * The decomposition wizard: each method shows its own parameters only. A group
 * ([data-method-group]) holds one select ([data-method-select]) and elements marked
 * data-for-method="history growth" (the methods they belong to), shown when the select names one.
 */
(function () {
  "use strict";

  function apply(group) {
    const select = group.querySelector("[data-method-select]");
    if (!select) return;
    for (const el of group.querySelectorAll("[data-for-method]")) {
      el.classList.toggle("d-none", !el.dataset.forMethod.split(" ").includes(select.value));
    }
  }

  document.addEventListener("change", (event) => {
    if (event.target.matches("[data-method-select]")) apply(event.target.closest("[data-method-group]"));
  });
  document.addEventListener("DOMContentLoaded", () => {
    for (const group of document.querySelectorAll("[data-method-group]")) apply(group);
  });
})();
