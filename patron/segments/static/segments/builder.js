/* Patron segment builder: a visual editor of the rule tree, kept in step with the text
   syntax. The server does all validation (POST /segments/preview/ returns the count, the
   canonical text and rules); this file only edits the JSON tree. No inline scripts (CSP). */
(function () {
  "use strict";
  const root = document.getElementById("segment-builder");
  if (!root) return;
  const data = JSON.parse(document.getElementById("segment-builder-data").textContent);
  let tree = JSON.parse(document.getElementById("segment-rules").textContent) || { and: [] };
  const form = document.getElementById("segment-form");
  const hidden = document.getElementById("rules-json");
  const source = document.getElementById("rules-source");
  const text = document.getElementById("rules-text");
  const fields = Object.fromEntries(data.fields.map((f) => [f.key, f]));
  const OPS = {
    eq: "=", neq: "≠", gt: ">", gte: "≥", lt: "<", lte: "≤", contains: "contains",
    starts_with: "starts with", ends_with: "ends with", in: "is one of", between: "between",
    is_set: "is set", not_set: "is not set", before: "before", after: "after",
    in_last_days: "in the last N days", in_next_days: "in the next N days",
    older_than_days: "more than N days ago", anniversary_within_days: "anniversary within N days",
  };
  const COMPARE = ["eq", "neq", "gt", "gte", "lt", "lte", "between"];
  const KINDS = {
    field: "Field", tag: "Has tag", list: "On list", segment: "In segment", consent: "Consent",
    event: "Performed event", event_time: "First/last performed", orders: "Orders",
    bought: "Bought", tickets: "Open tickets", survey: "Last survey score",
  };
  const DEFAULTS = {
    field: () => ({ kind: "field", field: "email", op: "contains", value: "" }),
    tag: () => ({ kind: "tag", tag: "" }),
    list: () => ({ kind: "list", list: (data.lists[0] || [1])[0] }),
    segment: () => ({ kind: "segment", segment: (data.segments[0] || [1])[0] }),
    consent: () => ({ kind: "consent", purpose: "email_marketing", channel: "email" }),
    event: () => ({ kind: "event", event: "", op: "at_least", count: 1, within_days: null, where: [] }),
    event_time: () => ({ kind: "event_time", event: "", which: "last", op: "in_last_days", value: 30 }),
    orders: () => ({ kind: "orders", measure: "count", op: "gte", value: 1, within_days: null }),
    bought: () => ({ kind: "bought", by: "product", value: "", within_days: null }),
    tickets: () => ({ kind: "tickets", op: "gt", value: 0 }),
    survey: () => ({ kind: "survey", survey: "nps", op: "gte", value: 9 }),
  };

  function el(tag, attrs, ...kids) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "on") for (const [ev, fn] of Object.entries(v)) node.addEventListener(ev, fn);
      else if (v !== null && v !== undefined && v !== false) node.setAttribute(k, v === true ? "" : v);
    }
    for (const kid of kids.flat()) if (kid !== null && kid !== undefined)
      node.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
    return node;
  }
  function select(options, value, onchange, label) {
    const s = el("select", { class: "select-sm", "aria-label": label, on: { change: (e) => onchange(e.target.value) } });
    for (const [v, text] of options) s.append(el("option", { value: v, selected: String(v) === String(value) }, text));
    return s;
  }
  function input(value, onchange, attrs) {
    return el("input", Object.assign({ class: "seg-input", value: value ?? "",
      on: { change: (e) => onchange(e.target.value) } }, attrs || {}));
  }
  const num = (v) => (v === "" || v === null || isNaN(Number(v)) ? v : Number(v));
  const int = (v) => (v === "" ? null : parseInt(v, 10));

  function changed() {
    hidden.value = JSON.stringify(tree);
    source.value = "builder";
    render();
    form.dispatchEvent(new Event("rules-changed"));
  }

  function valueEditor(c, type, op) {
    if (op === "is_set" || op === "not_set") return null;
    const set = (v) => { c.value = v; changed(); };
    if (["in_last_days", "in_next_days", "older_than_days", "anniversary_within_days"].includes(op))
      return input(c.value, (v) => set(int(v)), { type: "number", min: 0, "aria-label": "days" });
    const kind = type === "number" ? "number" : type === "date" || type === "datetime" ? "date" : "text";
    const conv = kind === "number" ? num : (v) => v;
    if (op === "between") {
      const pair = Array.isArray(c.value) ? c.value : ["", ""];
      return el("span", {},
        input(pair[0], (v) => set([conv(v), pair[1]]), { type: kind, "aria-label": "from" }), " and ",
        input(pair[1], (v) => set([pair[0], conv(v)]), { type: kind, "aria-label": "to" }));
    }
    if (op === "in") {
      const list = Array.isArray(c.value) ? c.value.join(", ") : "";
      return input(list, (v) => set(v.split(",").map((x) => conv(x.trim())).filter((x) => x !== "")),
        { placeholder: "a, b, c", "aria-label": "values" });
    }
    if (type === "boolean") return select([["true", "yes"], ["false", "no"]], String(c.value), (v) => set(v === "true"), "value");
    const spec = fields[c.field];
    if (spec && spec.choices && spec.choices.length && kind === "text")
      return select([["", "…"], ...spec.choices], c.value, set, "value");
    return input(c.value, (v) => set(conv(v)), { type: kind, "aria-label": "value" });
  }

  function compareEditor(c, ops, wholeNumbers) {
    return [
      select(ops.map((o) => [o, OPS[o]]), c.op, (v) => { c.op = v; c.value = v === "between" ? [0, 0] : 0;
        if (v === "is_set" || v === "not_set") delete c.value; changed(); }, "operator"),
      valueEditor(c, wholeNumbers ? "number" : "number", c.op),
    ];
  }
  function windowEditor(c) {
    return el("label", { class: "seg-inline" }, " in last ",
      input(c.within_days, (v) => { c.within_days = int(v); changed(); }, { type: "number", min: 1, class: "seg-input seg-narrow", placeholder: "any", "aria-label": "window in days" }), " days");
  }

  function conditionBody(c) {
    switch (c.kind) {
      case "field": {
        const groups = {};
        for (const f of data.fields) (groups[f.group] = groups[f.group] || []).push(f);
        const picker = el("select", { class: "select-sm", "aria-label": "field", on: { change: (e) => {
          const f = fields[e.target.value]; c.field = f.key; c.op = f.ops[0]; c.value = ""; 
          if (c.op === "is_set") delete c.value; changed(); } } });
        for (const [g, fs] of Object.entries(groups)) {
          const og = el("optgroup", { label: g });
          for (const f of fs) og.append(el("option", { value: f.key, selected: f.key === c.field }, f.label));
          picker.append(og);
        }
        const spec = fields[c.field] || { ops: [c.op], type: "text" };
        const ops = select(spec.ops.map((o) => [o, OPS[o] || o]), c.op, (v) => {
          c.op = v; c.value = v === "between" ? ["", ""] : v === "in" ? [] : "";
          if (v === "is_set" || v === "not_set") delete c.value; changed(); }, "operator");
        return [picker, ops, valueEditor(c, spec.type, c.op)];
      }
      case "tag": return [input(c.tag, (v) => { c.tag = v; changed(); }, { placeholder: "tag", "aria-label": "tag" })];
      case "list": return [select(data.lists, c.list, (v) => { c.list = int(v); changed(); }, "list")];
      case "segment": return [select(data.segments, c.segment, (v) => { c.segment = int(v); changed(); }, "segment")];
      case "consent": return [
        select(data.purposes.map((p) => [p, p.replace("_", " ")]), c.purpose, (v) => { c.purpose = v; changed(); }, "purpose"), " via ",
        select(data.channels.map((p) => [p, p]), c.channel, (v) => { c.channel = v; changed(); }, "channel")];
      case "event": return [
        input(c.event, (v) => { c.event = v; changed(); }, { placeholder: "event name", "aria-label": "event" }),
        select([["at_least", "at least"], ["at_most", "at most"], ["exactly", "exactly"]], c.op, (v) => { c.op = v; changed(); }, "how often"),
        input(c.count, (v) => { c.count = int(v) ?? 0; changed(); }, { type: "number", min: 0, class: "seg-input seg-narrow", "aria-label": "times" }), " times",
        windowEditor(c),
        el("span", { class: "muted small" }, c.where.length ? ` where ${c.where.length} property filter(s) (edit as text)` : ""),
      ];
      case "event_time": return [
        select([["first", "first"], ["last", "last"]], c.which, (v) => { c.which = v; changed(); }, "first or last"), " performed ",
        input(c.event, (v) => { c.event = v; changed(); }, { placeholder: "event name", "aria-label": "event" }),
        select(["before", "after", "in_last_days", "older_than_days"].map((o) => [o, OPS[o]]), c.op, (v) => {
          c.op = v; c.value = v === "before" || v === "after" ? "" : 30; changed(); }, "operator"),
        valueEditor(c, "datetime", c.op)];
      case "orders": return [
        select([["count", "count"], ["total", "total spend"], ["average", "average spend"]], c.measure, (v) => { c.measure = v; changed(); }, "measure"),
        ...compareEditor(c, COMPARE), windowEditor(c)];
      case "bought": return [
        select([["product", "product (SKU)"], ["category", "from category"]], c.by, (v) => { c.by = v; changed(); }, "by"),
        input(c.value, (v) => { c.value = v; changed(); }, { "aria-label": "SKU or category" }), windowEditor(c)];
      case "tickets": return compareEditor(c, COMPARE, true);
      case "survey": return [
        select([["nps", "NPS"], ["csat", "CSAT"]], c.survey, (v) => { c.survey = v; changed(); }, "survey"),
        ...compareEditor(c, [...COMPARE, "is_set", "not_set"], true)];
    }
    return [];
  }

  // slot: {set(node), remove() or null}: where this node lives in its parent.
  function node(n, slot) {
    const remove = slot.remove ? el("button", { type: "button", class: "btn btn-sm btn-ghost",
      "aria-label": "Remove", on: { click: () => { slot.remove(); changed(); } } }, "✕") : null;
    const negate = () => slot.remove ? el("label", { class: "seg-not" },
      el("input", { type: "checkbox", checked: "not" in n, on: { change: () => {
        slot.set("not" in n ? n.not : { not: n }); changed(); } } }), " not") : null;
    if ("not" in n) {
      const inner = node(n.not, { set: (x) => { n.not = x; }, remove: slot.remove, inNot: true });
      return el("div", { class: "seg-row" }, el("div", { class: "seg-negated" }, negate(), inner));
    }
    if ("and" in n || "or" in n) {
      const op = "and" in n ? "and" : "or";
      const kids = n[op];
      const box = el("fieldset", { class: `seg-group seg-${op}` });
      box.append(el("legend", {},
        select([["and", "All of"], ["or", "Any of"]], op, (v) => {
          if (v !== op) { n[v] = n[op]; delete n[op]; changed(); } }, "group"),
        slot.inNot ? null : negate()));
      kids.forEach((k, i) => box.append(node(k, { set: (x) => { kids[i] = x; },
        remove: () => { kids.splice(i, 1); } })));
      box.append(el("div", { class: "seg-add" },
        select([["", "+ condition…"], ...Object.entries(KINDS)], "", (v) => {
          if (v) { kids.push(DEFAULTS[v]()); changed(); } }, "add condition"),
        el("button", { type: "button", class: "btn btn-sm",
          on: { click: () => { kids.push({ and: [] }); changed(); } } }, "+ group")));
      return el("div", { class: "seg-row" }, box, slot.inNot ? null : remove);
    }
    return el("div", { class: "seg-row seg-cond" },
      slot.inNot ? null : negate(),
      select(Object.entries(KINDS), n.kind, (v) => { slot.set(DEFAULTS[v]()); changed(); }, "condition"),
      ...conditionBody(n), slot.inNot ? remove : remove);
  }

  function render() {
    if (!("and" in tree || "or" in tree)) tree = { and: [tree] };
    root.replaceChildren(node(tree, { set: (x) => { tree = x; }, remove: null }));
  }

  // The text side: edits go to the server as text; the preview returns the canonical tree.
  text.addEventListener("change", () => {
    source.value = "text";
    form.dispatchEvent(new Event("rules-changed"));
  });
  document.body.addEventListener("htmx:afterSwap", (e) => {
    const target = (e.detail && e.detail.target) || e.target;
    if (!target || target.id !== "segment-preview") return;
    const canonicalText = document.getElementById("canonical-text");
    const canonicalRules = document.getElementById("canonical-rules");
    if (!canonicalText || !canonicalRules) return;
    if (source.value === "text") {
      tree = JSON.parse(canonicalRules.content.textContent);
      hidden.value = JSON.stringify(tree);
      source.value = "builder";
      render();
    }
    if (document.activeElement !== text) text.value = canonicalText.content.textContent;
  });
  hidden.value = JSON.stringify(tree);
  render();
})();
