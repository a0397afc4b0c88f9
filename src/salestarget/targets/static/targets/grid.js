/*
 * The target grid (targets/grid.html): a node's rows x the plan's period and months, one level
 * (floor, target or stretch) at a time, edited like a spreadsheet and saved through the API.
 *
 * Values live in the table as integers in the metric's minor units (fen); they are shown and
 * typed in the display unit (yuan), converted with string arithmetic so that no float ever
 * holds money. Every change (typing, a pasted block, undo, redo, clearing a range) ends up in
 * the table's data; `save()` compares the data with the values last saved and sends the
 * difference, so each path is saved the same way. A cell refused for a stale version keeps the
 * user's value, marked, until they save it again or take the other person's.
 */
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("grid-config").textContent);
  const W = config.words;
  const csrf = (document.body.getAttribute("hx-headers") || "").match(/"X-CSRFToken":\s*"([^"]+)"/);
  const CSRF = csrf ? csrf[1] : "";
  const MAX_AMOUNT = 1e15;
  const BATCH = 1000;

  let data = config.grid;
  let level = "target";
  let table = null;
  // row key -> column key -> stored cell {id, version, locked, source, target, floor, stretch}
  let stored = {};
  // "rowKey|colKey" -> {theirs, yours}: refused cells, not sent again until the user decides
  const conflicts = new Map();
  let timer = null;
  let saving = Promise.resolve();

  const places = data.metric.decimals;
  const months = data.columns.filter((c) => c.key !== "y");
  const quarters = months.length >= 6 ? chunk(months, 3) : [];

  function chunk(list, n) {
    const out = [];
    for (let i = 0; i < list.length; i += n) out.push(list.slice(i, i + n));
    return out;
  }

  function fill(text, params) {
    return text.replace(/%\((\w+)\)s/g, (_m, name) => params[name]);
  }

  // ------------------------------------------------------------------ amounts

  function show(minor) {
    if (minor === null || minor === undefined || minor === "") return "";
    const negative = minor < 0;
    let digits = String(Math.abs(minor));
    if (places) digits = digits.padStart(places + 1, "0");
    const whole = places ? digits.slice(0, -places) : digits;
    const frac = places ? digits.slice(-places) : "";
    const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    const trimmed = frac.replace(/0+$/, "");
    return (negative ? "-" : "") + grouped + (trimmed ? "." + frac : "");
  }

  function plain(minor) {
    return show(minor).replace(/,/g, "");
  }

  // "1,234.5" -> 123450 (fen): {value} or {error}; "" and "-" mean empty.
  function parse(text) {
    const raw = String(text).trim().replace(/[,\s\u00a0¥￥元]/g, "");
    if (raw === "" || raw === "-" || raw === "—") return { value: null };
    const m = raw.match(/^(\+|-)?(\d*)(?:\.(\d*))?$/);
    if (!m || (m[2] === "" && !m[3])) return { error: fill(W.not_number, { value: text }) };
    if (m[1] === "-") return { error: W.negative };
    const frac = m[3] || "";
    if (frac.replace(/0+$/, "").length > places) return { error: fill(W.too_many_decimals, { places }) };
    const digits = ((m[2] || "0") + frac.padEnd(places, "0").slice(0, places)).replace(/^0+(?=\d)/, "");
    if (digits.length > 16) return { error: W.too_large };
    const value = Number(digits);
    if (!Number.isSafeInteger(value) || value > MAX_AMOUNT) return { error: W.too_large };
    return { value };
  }

  function asMinor(value) {
    if (value === null || value === undefined || value === "") return { value: null };
    if (typeof value === "number") return { value };
    return parse(value);
  }

  // ------------------------------------------------------------------ rows

  function rowsFor(lvl) {
    return data.rows.map((row) => {
      const out = { key: row.key, kind: row.kind, id: row.id, name: row.name, code: row.code, parent: row.parent,
        drill: row.drill, editable: row.editable, visible: row.visible,
        commit: row.commitment ? row.commitment.amount : null };
      for (const col of data.columns) {
        const cell = row.cells[col.key];
        out[col.key] = cell ? cell[lvl] : null;
      }
      return out;
    });
  }

  function rememberStored() {
    stored = {};
    for (const row of data.rows) {
      stored[row.key] = {};
      for (const col of data.columns) {
        if (row.cells[col.key]) stored[row.key][col.key] = { ...row.cells[col.key] };
      }
    }
  }

  function sumOf(values) {
    let total = null;
    for (const v of values) {
      if (typeof v === "number") total = (total || 0) + v;
    }
    return total;
  }

  function monthsSum(rowData) {
    return sumOf(months.map((c) => rowData[c.key]));
  }

  function childrenSum(colKey) {
    if (!table) return null;
    return sumOf(table.getData().filter((r) => !r.parent).map((r) => (typeof r[colKey] === "number" ? r[colKey] : null)));
  }

  function mismatchOf(colKey, parentValue) {
    const kids = table ? table.getData().filter((r) => !r.parent) : [];
    if (!kids.length) return null;
    const children = childrenSum(colKey);
    if (parentValue === null && children === null) return null;
    const over = data.over_assignment_bp || 0;
    const expected = parentValue === null ? null : Math.round((parentValue * (10000 + over)) / 10000);
    if (expected !== null && children !== null && Math.abs(children - expected) <= (over ? Math.max(1, parentValue / 10000) : 0)) return null;
    return { children, parent: parentValue };
  }

  // ------------------------------------------------------------------ columns

  function cellMeta(cell) {
    const row = cell.getRow().getData();
    return (stored[row.key] || {})[cell.getColumn().getField()];
  }

  function valueFormatter(cell) {
    const el = cell.getElement();
    const row = cell.getRow().getData();
    const key = cell.getColumn().getField();
    const meta = cellMeta(cell);
    el.classList.toggle("st-locked", !!(meta && meta.locked));
    el.classList.toggle("st-readonly", !row.editable);
    el.classList.toggle("st-conflict", conflicts.has(row.key + "|" + key));
    el.removeAttribute("title");
    el.classList.remove("st-mismatch", "st-year-off");
    const value = cell.getValue();
    if (row.parent && row.visible) {
      const off = mismatchOf(key, typeof value === "number" ? value : null);
      if (off) {
        el.classList.add("st-mismatch");
        el.title = fill(W.mismatch, { children: show(off.children) || "0", parent: show(off.parent) || W.none });
      }
    }
    if (key === "y" && typeof value === "number") {
      const total = monthsSum(row);
      if (total !== null && total !== value) {
        el.classList.add("st-year-off");
        el.title = (el.title ? el.title + " " : "") + W.months_total + ": " + show(total);
      }
    }
    if (conflicts.has(row.key + "|" + key)) {
      const c = conflicts.get(row.key + "|" + key);
      el.title = fill(W.conflict, { theirs: show(c.theirs) || W.none, yours: show(c.yours) || W.none });
    }
    if (typeof value === "string") return value;
    return show(value);
  }

  // The key that opened the editor by typing: the editor starts from it, as a spreadsheet does.
  let firstKey = null;

  function amountEditor(cell, onRendered, success, cancel) {
    const input = document.createElement("input");
    input.type = "text";
    input.inputMode = "decimal";
    input.className = "form-control form-control-sm text-end";
    input.style.cssText = "height:100%;width:100%;padding:2px 4px;box-sizing:border-box";
    const start = firstKey;
    input.value = start !== null ? start : plain(cell.getValue());
    onRendered(() => {
      input.focus({ preventScroll: true });
      if (start === null) input.select();
    });
    let done = false;
    function finish() {
      if (done) return;
      const parsed = parse(input.value);
      if (parsed.error) {
        status(parsed.error, "danger");
        done = true;
        cancel();
        return;
      }
      done = true;
      success(parsed.value);
    }
    input.addEventListener("blur", finish);
    input.addEventListener("keydown", (e) => {
      // Enter ends the edit here; bubbling on, it would open the editor again.
      if (e.key === "Enter") e.stopPropagation();
      if (e.key === "Enter" || e.key === "Tab") finish();
      if (e.key === "Escape") {
        done = true;
        cancel();
      }
    });
    return input;
  }

  function editable(cell) {
    const row = cell.getRow().getData();
    const meta = cellMeta(cell);
    return row.editable && !(meta && meta.locked);
  }

  // Wide enough for the widest figure a column may show: its cells, the children's sum under it
  // and a gap as large as both (QA: "49,737,88…" cut off at 1440 px and on a phone).
  function numberWidth(rows) {
    let widest = 0;
    for (const col of data.columns) {
      const values = rows.map((r) => r[col.key]).filter((v) => typeof v === "number");
      const kids = rows.filter((r) => !r.parent).map((r) => r[col.key]).filter((v) => typeof v === "number");
      const sum = sumOf(kids) || 0;
      const largest = Math.max(0, ...values.map(Math.abs));
      for (const v of [...values, sum, -(Math.abs(sum) + largest)]) widest = Math.max(widest, show(v).length);
    }
    return Math.max(96, Math.ceil(widest * 8.5) + 24);
  }

  function columns() {
    const width = Math.max(...["floor", "target", "stretch"].map((lvl) => numberWidth(rowsFor(lvl))));
    const numeric = (col, extra) => ({
      title: col.label,
      field: col.key,
      hozAlign: "right",
      headerHozAlign: "right",
      minWidth: width,
      cssClass: "st-num",
      formatter: valueFormatter,
      editor: amountEditor,
      editable,
      bottomCalc: () => childrenSum(col.key),
      bottomCalcFormatter: (c) => show(c.getValue()),
      ...extra,
    });
    const subtotal = (title, key, fn) => ({
      title,
      field: key,
      hozAlign: "right",
      headerHozAlign: "right",
      minWidth: Math.max(112, width),
      cssClass: "st-num st-sub",
      editable: false,
      formatter: (cell) => show(fn(cell.getRow().getData())),
      bottomCalc: () => sumOf(table ? table.getData().filter((r) => !r.parent).map(fn) : []),
      bottomCalcFormatter: (c) => show(c.getValue()),
    });
    const cols = [
      {
        title: W.name,
        field: "name",
        frozen: true,
        minWidth: 130,
        widthGrow: 2,
        editable: false,
        formatter: (cell) => {
          const row = cell.getRow().getData();
          const el = cell.getElement();
          if (row.parent) el.classList.add("st-parent");
          const name = document.createElement(row.drill ? "a" : "span");
          name.textContent = row.name;
          if (row.drill) {
            const q = new URLSearchParams(window.location.search);
            q.set("unit", row.id);
            q.set("scenario", data.scenario.id);
            name.href = config.page + "?" + q.toString();
            name.title = W.open_unit;
            name.dataset.testid = "drill";
          }
          const wrap = document.createElement("span");
          const icon = document.createElement("i");
          icon.className = "bi me-1 " + (row.kind === "person" ? "bi-person" : "bi-diagram-3");
          icon.setAttribute("aria-hidden", "true");
          const code = document.createElement("span");
          code.className = "text-body-secondary small ms-1";
          code.textContent = row.code;
          wrap.append(icon, name, code);
          return wrap;
        },
        bottomCalc: () => W.children_total,
      },
      {
        title: '<i class="bi bi-lock" aria-hidden="true"></i>',
        titleFormatter: "html",
        field: "lock",
        width: 38,
        hozAlign: "center",
        headerSort: false,
        editable: false,
        tooltip: W.lock_row,
        formatter: (cell) => {
          const row = cell.getRow().getData();
          const meta = (stored[row.key] || {}).y;
          if (!row.visible) return "";
          const icon = meta && meta.locked ? "bi-lock-fill text-secondary" : "bi-unlock text-body-tertiary";
          return `<i class="bi ${icon}" role="img" aria-label="${meta && meta.locked ? W.locked : W.unlocked}"></i>`;
        },
        cellClick: (_e, cell) => {
          const row = cell.getRow();
          if (!row.getData().editable) return;
          const cells = data.columns.map((c) => row.getCell(c.key)).filter(Boolean);
          toggleLock(cells);
        },
      },
      numeric(data.columns[0], { title: W.year, minWidth: 110 }),
    ];
    if (data.commitments) cols.push(...commitmentColumns());
    if (quarters.length) {
      quarters.forEach((group, i) => {
        group.forEach((col) => cols.push(numeric(col)));
        cols.push(subtotal("Q" + (i + 1), "q" + (i + 1), (r) => sumOf(group.map((c) => (typeof r[c.key] === "number" ? r[c.key] : null)))));
      });
    } else {
      months.forEach((col) => cols.push(numeric(col)));
    }
    cols.push(subtotal(W.months_total, "months_total", (r) => monthsSum(r)));
    for (const col of cols) {
      if (col.field !== "name") repaint.set(col.field, { formatter: col.formatter, html: col.field === "lock" });
    }
    return cols;
  }

  // ------------------------------------------------------------------ commitments

  // Team commitments (团队共创) beside the top-down target of the whole period: a lead commits
  // for their team, a rep for themselves, straight to the commitments API (not a target cell).
  const rowByKey = new Map(data.rows.map((r) => [r.key, r]));

  function topDown(r) {
    if (level === "target" && typeof r.y === "number") return r.y;
    const meta = (stored[r.key] || {}).y;
    return meta ? meta.target : null;
  }

  // The row's commitment, or null (and for the bottom calculation row, which is no data row).
  function commitmentOf(cell) {
    const row = rowByKey.get(cell.getRow().getData().key);
    return row ? row.commitment : null;
  }

  function commitmentColumns() {
    const mayCommit = (cell) => {
      const c = commitmentOf(cell);
      return !!(c && c.may);
    };
    return [
      {
        title: W.commitment,
        field: "commit",
        headerTooltip: W.commitment_help,
        hozAlign: "right",
        headerHozAlign: "right",
        width: 132,
        cssClass: "st-num",
        editor: amountEditor,
        editable: mayCommit,
        formatter: (cell) => {
          const el = cell.getElement();
          const c = commitmentOf(cell);
          el.classList.toggle("st-readonly", !(c && c.may));
          el.classList.toggle("st-commit", !!(c && c.may));
          el.removeAttribute("title");
          if (c && c.decision) el.title = fill(W.decided, { decision: c.decision_label });
          else if (c && c.note) el.title = c.note;
          const value = cell.getValue();
          return typeof value === "string" ? value : show(value);
        },
        bottomCalc: () => sumOf(table ? table.getData().filter((r) => !r.parent).map((r) => r.commit) : []),
        bottomCalcFormatter: (c) => show(c.getValue()),
      },
      {
        title: W.gap,
        field: "gap",
        headerTooltip: W.gap_help,
        hozAlign: "right",
        headerHozAlign: "right",
        width: 120,
        cssClass: "st-num st-sub",
        editable: false,
        formatter: (cell) => {
          const r = cell.getRow().getData();
          if (!rowByKey.has(r.key)) return "";
          const top = topDown(r);
          if (typeof r.commit !== "number" || top === null) return "";
          const gap = r.commit - top;
          cell.getElement().classList.toggle("text-danger", gap < 0);
          return (gap < 0 ? "-" : "") + show(Math.abs(gap));
        },
      },
    ];
  }

  async function commit(r, value) {
    const row = rowByKey.get(r.key);
    const response = await fetch(config.api.commitments, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": CSRF, Accept: "application/json" },
      credentials: "same-origin",
      body: JSON.stringify({
        unit_id: r.kind === "unit" ? r.id : null,
        person_id: r.kind === "person" ? r.id : null,
        amount: value,
        note: row.commitment.note || "",
      }),
    });
    let body = {};
    try {
      body = await response.json();
    } catch (_e) {
      body = { detail: response.statusText };
    }
    if (response.status === 200) {
      row.commitment = { ...row.commitment, amount: body.amount, decision: "", decision_label: "" };
      status(fill(W.committed, { amount: show(body.amount) }), "success");
    } else {
      status(fill(W.save_failed, { reason: body.detail || response.statusText }), "danger");
    }
  }

  // Commitments typed, pasted, undone or redone: each differing from the stored one is sent.
  function syncCommitments() {
    if (!data.commitments || !table) return Promise.resolve();
    const sends = [];
    for (const row of table.getRows()) {
      const r = row.getData();
      const c = rowByKey.get(r.key).commitment;
      if (!c || !c.may) continue;
      const parsed = asMinor(r.commit);
      if (parsed.value === c.amount) continue;
      if (parsed.error || parsed.value === null) {
        status(parsed.error || W.commitment_empty, "danger");
        row.update({ commit: c.amount });
        continue;
      }
      if (typeof r.commit === "string") row.update({ commit: parsed.value });
      sends.push(commit(r, parsed.value));
    }
    return Promise.all(sends).then(() => refresh());
  }

  // ------------------------------------------------------------------ saving

  function status(text, tone) {
    const el = document.getElementById("grid-status");
    el.className = "st-grid-status small mb-1 text-" + (tone || "body-secondary");
    el.textContent = text;
  }

  function keyOf(row, col) {
    const meta = (stored[row.key] || {})[col.key];
    if (meta && meta.id) return { id: meta.id, version: meta.version };
    return {
      unit_id: row.kind === "unit" ? row.id : null,
      person_id: row.kind === "person" ? row.id : null,
      period_kind: col.kind,
      period_start: col.start,
      product_id: data.product ? data.product.id : null,
    };
  }

  // The table's edits not saved yet, checked; a cell that cannot take its value goes back.
  function pending() {
    const changes = [];
    const where = [];
    for (const row of table.getRows()) {
      const r = row.getData();
      if (!r.editable) continue;
      for (const col of data.columns) {
        const parsed = asMinor(r[col.key]);
        const meta = (stored[r.key] || {})[col.key];
        const before = meta ? meta[level] : null;
        if (parsed.error) {
          status(parsed.error, "danger");
          row.update({ [col.key]: before });
          continue;
        }
        if (parsed.value === before) continue;
        if (typeof r[col.key] === "string") row.update({ [col.key]: parsed.value });
        if (conflicts.has(r.key + "|" + col.key)) continue;
        let refusal = null;
        if (meta && meta.locked) refusal = W.locked_cell;
        else if (level === "target" && parsed.value === null) refusal = W.target_empty;
        else if (!meta && level !== "target") refusal = W.needs_target;
        if (refusal) {
          status(refusal, "danger");
          row.update({ [col.key]: before });
          continue;
        }
        changes.push({ ...keyOf(r, col), field: level, value: parsed.value });
        where.push({ row: r.key, col: col.key });
      }
    }
    return { changes, where };
  }

  // A published plan: edits wait in the table until they are sent as one change request.
  const REQUESTING = data.plan.mode === "request";

  function schedule() {
    if (REQUESTING) {
      showRequest();
      return;
    }
    clearTimeout(timer);
    timer = setTimeout(() => {
      saving = saving.then(save);
    }, 250);
  }

  async function post(changes) {
    const response = await fetch(config.api.cells, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": CSRF, Accept: "application/json" },
      credentials: "same-origin",
      body: JSON.stringify({ scenario_id: data.scenario.id, changes }),
    });
    let body = {};
    try {
      body = await response.json();
    } catch (_e) {
      body = { detail: response.statusText };
    }
    return { status: response.status, body };
  }

  async function save(extra) {
    const { changes, where } = pending();
    const all = changes.concat(extra || []);
    if (!all.length) return;
    status(W.saving, "info");
    for (let i = 0; i < all.length; i += BATCH) {
      const batch = all.slice(i, i + BATCH);
      const { status: code, body } = await post(batch);
      if (code === 200) {
        for (const cell of body.cells) absorb(cell);
        continue;
      }
      if (code === 409) {
        onConflict(body, batch, where.slice(i, i + BATCH));
        return;
      }
      status(fill(W.save_failed, { reason: body.detail || code }), "danger");
      return;
    }
    status(W.saved, "success");
    refresh();
  }

  // A saved cell, as the server now has it, into the stored values and the table.
  function absorb(cell) {
    const row = data.rows.find((r) =>
      cell.person_id ? r.kind === "person" && r.id === cell.person_id : r.kind === "unit" && r.id === cell.unit_id,
    );
    if (!row) return;
    const col = data.columns.find((c) => c.kind === cell.period_kind && c.start === cell.period_start);
    if (!col) return;
    const fresh = { id: cell.id, version: cell.version, locked: cell.locked, source: cell.source,
      target: cell.target, floor: cell.floor, stretch: cell.stretch };
    row.cells[col.key] = fresh;
    stored[row.key] = stored[row.key] || {};
    stored[row.key][col.key] = { ...fresh };
  }

  function onConflict(body, batch, spots) {
    const lines = [];
    for (const clash of body.cells || []) {
      const index = batch.findIndex((c) =>
        clash.id ? c.id === clash.id : clash.key && c.period_start === clash.key.period_start &&
          c.unit_id === clash.key.unit_id && c.person_id === clash.key.person_id,
      );
      const where = index >= 0 ? spots[index] : null;
      const current = clash.current;
      const yours = clash.yours && level in clash.yours ? clash.yours[level] : null;
      if (where) {
        const row = data.rows.find((r) => r.key === where.row);
        if (current) {
          row.cells[where.col] = { ...current };
          stored[row.key][where.col] = { ...current };
        } else {
          delete row.cells[where.col];
          delete stored[row.key][where.col];
        }
        conflicts.set(where.row + "|" + where.col, { theirs: current ? current[level] : null, yours });
        const label = row.name + " · " + data.columns.find((c) => c.key === where.col).label;
        lines.push(label + ": " + fill(W.conflict, { theirs: show(current ? current[level] : null) || W.none, yours: show(yours) || W.none }));
      }
    }
    const box = document.getElementById("grid-conflict");
    document.getElementById("grid-conflict-text").textContent = lines.join(" ") || body.detail;
    document.getElementById("grid-conflict-help").textContent = W.conflict_help;
    box.classList.remove("d-none");
    status(body.detail, "warning-emphasis");
    refresh();
  }

  function keepMine() {
    conflicts.clear();
    document.getElementById("grid-conflict").classList.add("d-none");
    saving = saving.then(() => save());
  }

  function takeTheirs() {
    for (const [where, clash] of conflicts) {
      const [rowKey, colKey] = where.split("|");
      const row = table.getRow(rowKey);
      if (row) row.update({ [colKey]: clash.theirs });
    }
    conflicts.clear();
    document.getElementById("grid-conflict").classList.add("d-none");
    refresh();
  }

  function showRequest() {
    const bar = document.getElementById("grid-request");
    const n = pendingCount();
    bar.classList.toggle("d-none", n === 0);
    document.getElementById("grid-request-count").textContent = fill(W.request_count, { n });
  }

  // The table back to the stored values (a request sent or discarded changes nothing yet).
  function revert() {
    for (const row of table.getRows()) {
      const r = row.getData();
      const update = {};
      for (const col of data.columns) {
        const meta = (stored[r.key] || {})[col.key];
        update[col.key] = meta ? meta[level] : null;
      }
      row.update(update);
    }
    refresh();
    showRequest();
  }

  async function sendRequest(event) {
    event.preventDefault();
    const reason = document.getElementById("grid-request-reason").value.trim();
    if (!reason) {
      status(W.request_reason, "danger");
      return;
    }
    const { changes } = pending();
    if (!changes.length) return;
    const response = await fetch(config.api.requests, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": CSRF, Accept: "application/json" },
      credentials: "same-origin",
      body: JSON.stringify({ reason, changes }),
    });
    let body = {};
    try {
      body = await response.json();
    } catch (_e) {
      body = { detail: response.statusText };
    }
    if (response.status !== 200) {
      status(fill(W.save_failed, { reason: body.detail || response.status }), "danger");
      return;
    }
    document.getElementById("grid-request-reason").value = "";
    revert();
    status(fill(W.requested, { n: body.id }), "success");
  }

  function toggleLock(cells) {
    if (REQUESTING) {
      status(W.no_lock_in_force, "secondary");
      return;
    }
    const targets = cells.filter((cell) => {
      const row = cell.getRow().getData();
      return row.editable && cellMeta(cell);
    });
    if (!targets.length) return;
    const lock = !targets.every((cell) => cellMeta(cell).locked);
    const extra = targets.map((cell) => {
      const meta = cellMeta(cell);
      return { id: meta.id, version: meta.version, locked: lock };
    });
    saving = saving.then(() => save(extra));
  }

  // Computed figures (totals, mismatches, locks) drawn again in place: row.reformat() would
  // rebuild the cells and so drop their undo history.
  const repaint = new Map();

  function refresh() {
    if (!table) return;
    for (const row of table.getRows()) {
      for (const cell of row.getCells()) {
        const paint = repaint.get(cell.getColumn().getField());
        const el = cell.getElement();
        if (!paint || el.classList.contains("tabulator-editing")) continue;
        const out = paint.formatter(cell);
        if (paint.html) el.innerHTML = out;
        else el.textContent = out;
      }
    }
    table.recalc();
  }

  // ------------------------------------------------------------------ the table

  function build() {
    rememberStored();
    const small = window.matchMedia("(max-width: 576px)").matches;
    table = new Tabulator("#st-grid", {
      data: rowsFor(level),
      index: "key",
      columns: columns(),
      layout: "fitDataFill",
      maxHeight: small ? "65vh" : "72vh",
      reactiveData: false,
      history: true,
      selectableRange: 1,
      selectableRangeColumns: false,
      selectableRangeRows: false,
      selectableRangeClearCells: true,
      selectableRangeClearCellsValue: null,
      editTriggerEvent: "dblclick",
      clipboard: true,
      clipboardCopyStyled: false,
      clipboardCopyConfig: { rowHeaders: false, columnHeaders: false, columnCalcs: false },
      clipboardCopyRowRange: "range",
      clipboardPasteParser: "range",
      clipboardPasteAction: "range",
      columnDefaults: { headerSort: false, resizable: "header" },
      rowFormatter: (row) => {
        if (row.getData().parent) row.getElement().classList.add("st-parent");
      },
    });
    for (const event of ["cellEdited", "clipboardPasted", "historyUndo", "historyRedo", "dataChanged"]) {
      table.on(event, () => {
        refresh();
        schedule();
        saving = saving.then(syncCommitments);
      });
    }
    table.on("tableBuilt", () => refresh());
    if (REQUESTING) {
      document.getElementById("grid-request").addEventListener("submit", sendRequest);
      document.getElementById("grid-request-discard").addEventListener("click", revert);
    }
    const holder = document.getElementById("st-grid");
    holder.addEventListener("keydown", (e) => {
      if ((e.ctrlKey || e.metaKey) && (e.key === "l" || e.key === "L")) {
        e.preventDefault();
        const cells = table.getRanges().flatMap((r) => r.getCells().flat());
        toggleLock(cells);
        return;
      }
      if (e.ctrlKey || e.metaKey || e.altKey || document.activeElement.tagName === "INPUT") return;
      const ranges = table.getRanges();
      if (!ranges.length) return;
      const cells = ranges[0].getCells().flat();
      if (cells.length !== 1) return;
      const cell = cells[0];
      const typed = e.key.length === 1 && /[0-9.,\-+]/.test(e.key);
      if (!typed && e.key !== "Enter" && e.key !== "F2") return;
      if (!cell.getColumn().getDefinition().editor || !editable(cell)) {
        if (typed || e.key === "F2") status(cellMeta(cell) && cellMeta(cell).locked ? W.locked_cell : W.read_only, "secondary");
        return;
      }
      e.preventDefault();
      firstKey = typed ? e.key : null;
      cell.edit(true);
      firstKey = null;
    });
  }

  function switchLevel(next) {
    saving = saving.then(async () => {
      clearTimeout(timer);
      await save();
      level = next;
      conflicts.clear();
      document.getElementById("grid-conflict").classList.add("d-none");
      table.replaceData(rowsFor(level));
      table.clearHistory();
      refresh();
    });
  }

  document.querySelectorAll("input[name=level]").forEach((input) => {
    input.addEventListener("change", () => switchLevel(input.value));
  });
  document.getElementById("grid-undo").addEventListener("click", () => table.undo());
  document.getElementById("grid-redo").addEventListener("click", () => table.redo());
  document.getElementById("grid-lock").addEventListener("click", () => {
    toggleLock(table.getRanges().flatMap((r) => r.getCells().flat()));
  });
  document.getElementById("grid-keep-mine").textContent = W.keep_mine;
  document.getElementById("grid-take-theirs").textContent = W.take_theirs;
  document.getElementById("grid-keep-mine").addEventListener("click", keepMine);
  document.getElementById("grid-take-theirs").addEventListener("click", takeTheirs);
  window.addEventListener("beforeunload", (e) => {
    if (table && pendingCount()) e.preventDefault();
  });

  function pendingCount() {
    let n = 0;
    for (const r of table.getData()) {
      for (const col of data.columns) {
        const meta = (stored[r.key] || {})[col.key];
        if (asMinor(r[col.key]).value !== (meta ? meta[level] : null)) n += 1;
      }
    }
    return n;
  }

  build();
  window.stGrid = { table: () => table, saving: () => saving, pendingCount };
})();
