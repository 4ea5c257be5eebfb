// tests/test_browser.py runs this on each loaded page, after measure.js: what a reader
// on a phone, in dark mode or with a screen reader would meet. arguments[0]: the window
// width; arguments[1]: the smallest font size of a figure, in CSS pixels at the figure's
// own width (statlearn.plotting.SMALLEST_FONT_PX); arguments[2]: image pixels per CSS
// pixel in the book's PNGs (statlearn.plotting.RETINA_SCALE). Returns lists of problems
// and the counts the test prints.
const width = arguments[0], fontPx = arguments[1], retina = arguments[2];
const wide = width >= 1000;
const short = (s, n = 70) => { s = (s || "").replace(/\s+/g, " ").trim();
                               return s.length > n ? s.slice(0, n - 1) + "…" : s; };
const main = document.querySelector("main") || document.body;
const out = {equations: [], inline: [], tables: [], codeBreaks: [], alt: [], figureText: [],
             dark: [], counts: {display: 0, displayScroll: 0, inline: 0, images: 0}};
const texOf = (el) => {
  try { for (const item of MathJax.startup.document.math)
          if (item.typesetRoot === el) return item.math; } catch (e) {}
  return el.textContent;
};
// A box that scrolls sideways shows a cue: it scrolls (overflow auto or scroll) and has
// the gradients of statlearn.css's scrolling shadows as its background.
const scrollCue = (el) => {
  const cs = getComputedStyle(el);
  return ["auto", "scroll"].includes(cs.overflowX) && cs.backgroundImage.includes("gradient");
};
const overflows = (el) => el.scrollWidth > el.clientWidth + 1;

// display equations: fit their box, or scroll with a visible cue
for (const el of main.querySelectorAll("mjx-container[display]")) {
  out.counts.display += 1;
  if (!overflows(el)) continue;
  out.counts.displayScroll += 1;
  if (!scrollCue(el))
    out.equations.push(`${short(texOf(el))}: ${el.scrollWidth} px in a ${el.clientWidth} px `
                       + "box that scrolls with no cue");
}
// inline formulas: never cut off by a box that hides its overflow
for (const el of main.querySelectorAll("mjx-container:not([display])")) {
  out.counts.inline += 1;
  if (el.closest(".widget-subarea")) continue;  // a widget's label: the widget's layout
  const r = el.getBoundingClientRect();
  if (r.width === 0) continue;  // in a folded section
  for (let a = el; a && a !== main; a = a.parentElement) {
    const cs = getComputedStyle(a);
    if (a !== el && ["auto", "scroll"].includes(cs.overflowX)) break;  // it scrolls
    const clips = a === el ? overflows(el) && cs.overflowX !== "visible"
      : ["hidden", "clip"].includes(cs.overflowX)
        && (r.right > a.getBoundingClientRect().right + 1
            || r.left < a.getBoundingClientRect().left - 1);
    if (clips) {
      out.inline.push(`${short(texOf(el))}: ${Math.round(r.width)} px, cut off by `
                      + `${a.tagName.toLowerCase()}.${[...a.classList].join(".")}`);
      break;
    }
  }
}
// tables: the claims table fits the column (on a phone it stacks its cells); any other
// table fits or scrolls with a cue; code names in a table are never broken mid-word
for (const table of main.querySelectorAll("article table")) {
  const box = table.closest(".pst-scrollable-table-container") || table.parentElement;
  const column = (table.closest("section") || main).clientWidth;
  const name = table.id || short(table.querySelector("th, td")?.textContent, 30);
  if (table.id === "claims-table") {
    if (table.getBoundingClientRect().width > column + 1 || overflows(box))
      out.tables.push(`claims table: ${Math.round(table.getBoundingClientRect().width)} px `
                      + `in a ${column} px column`);
  } else if (overflows(box) && !scrollCue(box)) {
    out.tables.push(`table "${name}": ${box.scrollWidth} px in a ${box.clientWidth} px box `
                    + "that scrolls with no cue");
  }
  if (wide && overflows(box))
    out.tables.push(`table "${name}": ${box.scrollWidth} px wide in a ${box.clientWidth} px `
                    + "column at the desktop width");
  for (const code of table.querySelectorAll("code")) {
    const lines = new Set([...code.getClientRects()].map((r) => Math.round(r.top)));
    if (lines.size > 1) out.codeBreaks.push(`"${code.textContent}" in table "${name}" `
                                           + `breaks over ${lines.size} lines`);
  }
}
// images: an alt text that describes (not a file path, not empty); at the desktop
// width, a figure's smallest text at 9 px or more
const pathLike = /^[\w./\\:~-]*\.(png|jpe?g|gif|svg|webp)$|^(blob|data):/i;
for (const img of document.images) {
  const alt = (img.getAttribute("alt") || "").trim();
  const src = short(img.getAttribute("src"), 60);
  if (!img.closest("main")) continue;
  out.counts.images += 1;
  if (!alt) out.alt.push(`no alt text: ${src}`);
  else if (pathLike.test(alt) || alt === img.getAttribute("src"))
    out.alt.push(`alt text is a path: ${short(alt, 60)}`);
  const shown = img.getBoundingClientRect().width;
  if (wide && shown > 0 && img.naturalWidth > 0 && fontPx) {
    const px = fontPx * shown / (img.naturalWidth / retina);
    if (px < 9 - 1e-6)
      out.figureText.push(`${short(alt || src, 60)}: smallest text ${px.toFixed(1)} px `
                          + `(${img.naturalWidth} px image shown ${Math.round(shown)} px wide)`);
  }
}
// dark mode: no filter dims a figure
if (wide) {
  const root = document.documentElement, mode = root.dataset.theme;
  root.dataset.theme = "dark";
  for (const img of main.querySelectorAll("article img")) {
    const f = getComputedStyle(img).filter;
    if (f && f !== "none")
      out.dark.push(`${short(img.getAttribute("alt") || img.getAttribute("src"), 60)}: `
                    + `filter ${f}`);
  }
  root.dataset.theme = mode;
}
return out;
