// tests/test_browser.py runs this on each loaded page; it returns what is wrong:
// MathJax errors or untypeset math, display equations and code blocks wider than their
// column (arguments[0]: at the desktop width only), how many monospace characters a
// code block shows, whether the page scrolls sideways (and what sticks out), images
// that did not load, widget views that did not render.
const checkColumns = arguments[0], width = arguments[1];
const short = (s, n = 70) => { s = (s || "").replace(/\s+/g, " ").trim();
                               return s.length > n ? s.slice(0, n - 1) + "…" : s; };
const out = {math: [], wide: [], images: [], widgets: [], sideways: null, codeChars: null};
// math: every formula typeset, no error, no raw $$
for (const el of document.querySelectorAll("mjx-merror"))
  out.math.push("MathJax error: " + short(el.getAttribute("data-mjx-error") || el.textContent));
for (const el of document.querySelectorAll("div.math, span.math"))
  if (!el.querySelector("mjx-container")) out.math.push("not typeset: " + short(el.textContent));
const walker = document.createTreeWalker(document.querySelector("main") || document.body,
                                         NodeFilter.SHOW_TEXT);
for (let n = walker.nextNode(); n; n = walker.nextNode()) {
  if (n.parentElement.closest("pre, code, script, style, textarea, mjx-container")) continue;
  if (n.textContent.includes("$$")) out.math.push("raw $$ in text: " + short(n.textContent));
}
// the TeX source of a display equation, to say which one is too wide
const texOf = (el) => {
  try { for (const item of MathJax.startup.document.math)
          if (item.typesetRoot === el) return item.math; } catch (e) {}
  return el.textContent;
};
if (checkColumns) {
  for (const el of document.querySelectorAll("mjx-container[display]")) {
    if (el.scrollWidth > el.clientWidth + 1) {
      const box = el.closest("div.math");
      const no = box && box.querySelector(".eqno");
      out.wide.push({kind: "equation", what: (no ? no.textContent.replace("#", "").trim() + " " : "")
                       + short(texOf(el)), scroll: el.scrollWidth, client: el.clientWidth});
    }
  }
  const pres = new Set(document.querySelectorAll("div.cell_input pre, div.highlight pre"));
  for (const el of pres) {
    if (el.scrollWidth > el.clientWidth + 1) {
      const lines = el.textContent.split("\n");
      const longest = lines.reduce((a, b) => (b.length > a.length ? b : a), "");
      out.wide.push({kind: "code", what: short(longest, 60) + ` (${longest.length} chars)`,
                     scroll: el.scrollWidth, client: el.clientWidth});
    }
  }
  // how many monospace characters a code block of the page's own column shows (the
  // examples inside an API entry sit indented in its description, and are not counted)
  const pre = [...document.querySelectorAll("div.cell_input pre, div.highlight pre")]
    .find((el) => !el.closest("dl.py"));
  if (pre) {
    const probe = document.createElement("span");
    probe.textContent = "x".repeat(100);
    pre.appendChild(probe);
    const charWidth = probe.getBoundingClientRect().width / 100;
    pre.removeChild(probe);
    const cs = getComputedStyle(pre);
    const inner = pre.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
    out.codeChars = {chars: Math.floor(inner / charWidth + 1e-6), width: inner,
                     charWidth: charWidth, font: cs.fontSize};
  }
}
// The page itself must not scroll sideways; name the elements that stick out.
// On a phone a page wider than the screen is also zoomed out to fit (the layout viewport,
// innerWidth, grows past the device width), so both are compared with the width asked for.
const vw = width, sw = Math.max(document.scrollingElement.scrollWidth, window.innerWidth);
if (sw > vw) {
  // Culprits: with the body held to the screen's width (the rest reflows), the innermost
  // elements still past its right edge, not clipped by an ancestor and not in an
  // off-canvas (fixed) drawer such as the theme's folded sidebars.
  const saved = document.body.getAttribute("style");
  document.body.style.width = document.body.style.maxWidth = `${vw}px`;
  const past = (el) => el.getBoundingClientRect().right > vw + 1;
  const hidden = (el) => { for (let a = el; a && a !== document.body; a = a.parentElement) {
      const cs = getComputedStyle(a);
      if (cs.position === "fixed" || (a !== el && cs.overflowX !== "visible")) return true; }
    return false; };
  const culprits = [];
  for (const el of document.body.querySelectorAll("*")) {
    if (culprits.length >= 5) break;
    if (el.getBoundingClientRect().width > 0 && past(el) && ![...el.children].some(past)
        && !hidden(el))
      culprits.push(`${el.tagName.toLowerCase()}.${[...el.classList].join(".")} `
                    + `(right edge ${Math.round(el.getBoundingClientRect().right)} px)`);
  }
  if (saved === null) document.body.removeAttribute("style");
  else document.body.setAttribute("style", saved);
  out.sideways = {scrollWidth: sw, innerWidth: vw, culprits: culprits};
}

for (const img of document.images)
  if (!img.complete || img.naturalWidth === 0)
    out.images.push(short(img.getAttribute("src"), 90));
for (const v of document.querySelectorAll(
    'script[type="application/vnd.jupyter.widget-view+json"]')) {
  const area = v.previousElementSibling;
  // rendered: the manager filled the area; it has a height unless a folded section hides it
  const ok = area && area.classList.contains("widget-subarea") && area.children.length > 0
             && (area.getBoundingClientRect().height > 0 || area.offsetParent === null);
  if (!ok) out.widgets.push("widget view not rendered: " + short(v.textContent, 90));
}
return out;
