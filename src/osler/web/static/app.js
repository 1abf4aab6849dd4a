// Progressive enhancement: a citation opens its passage in place, highlighted in its document.
"use strict";
(function () {
  const panel = document.getElementById("source-panel");
  if (!panel) return;
  const body = panel.querySelector(".source-body");

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;  // never innerHTML: source text is untrusted
    return node;
  }

  function show(data, statement) {
    body.replaceChildren();
    const doc = data.document;
    body.append(el("h2", "source-title", doc.title));
    const meta = el("p", "meta", doc.source + (doc.year ? ", " + doc.year : "") + " · ");
    meta.append(el("span", "badge level-" + doc.evidence_level, doc.evidence_label));
    if (doc.url) {
      const a = el("a", "ref-link", "original source");
      a.href = doc.url;
      a.rel = "noopener noreferrer";
      meta.append(" · ", a);
    }
    body.append(meta);
    const ctx = data.context;
    const text = el("div", "doc-text");
    const passage = ctx.text.slice(ctx.highlight_start, ctx.highlight_end);
    const mark = el("mark", "passage");
    const at = statement ? passage.indexOf(statement) : -1;
    if (at >= 0) {
      mark.append(passage.slice(0, at), el("mark", "sentence", statement), passage.slice(at + statement.length));
    } else {
      mark.append(passage);
    }
    text.append(ctx.text.slice(0, ctx.highlight_start), mark, ctx.text.slice(ctx.highlight_end));
    body.append(text);
    panel.hidden = false;
    mark.scrollIntoView({ block: "center" });
    panel.querySelector(".close").focus();
  }

  document.addEventListener("click", function (event) {
    const link = event.target.closest("sup.cite a");
    if (!link) return;
    const ref = document.getElementById("ref-" + link.dataset.ref);
    if (!ref) return;
    event.preventDefault();
    fetch("/api/passages/" + encodeURIComponent(ref.dataset.passageId))
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (data) { show(data, link.dataset.statement); })
      .catch(function () { window.location.hash = "ref-" + link.dataset.ref; });
  });
  panel.querySelector(".close").addEventListener("click", function () { panel.hidden = true; });
  document.addEventListener("keydown", function (e) { if (e.key === "Escape") panel.hidden = true; });
})();
