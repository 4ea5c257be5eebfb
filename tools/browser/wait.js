// tests/test_browser.py runs this (async) on each page after it loads: it waits until
// MathJax has typeset the page, every widget view has rendered and every image has
// loaded or failed, or until arguments[0] seconds have passed, and returns a status.
const done = arguments[arguments.length - 1];
const timeout = arguments[0] * 1000;
(async () => {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const deadline = Date.now() + timeout;
  const status = {mathjax: "none", widgets: "none"};
  if (document.querySelector("div.math, span.math, .math")) {
    while (!(window.MathJax && MathJax.startup && MathJax.startup.promise)
           && Date.now() < deadline) await sleep(50);
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
      try { await MathJax.startup.promise; status.mathjax = "done"; }
      catch (e) { status.mathjax = "failed: " + e; }
    } else status.mathjax = "MathJax never loaded";
  }
  const views = [...document.querySelectorAll(
      'script[type="application/vnd.jupyter.widget-view+json"]')];
  const rendered = (v) => {
    const area = v.previousElementSibling;
    return area && area.classList.contains("widget-subarea") && area.children.length > 0;
  };
  if (views.length) {
    while (!views.every(rendered) && Date.now() < deadline) await sleep(100);
    status.widgets = views.every(rendered) ? "done" : "timeout";
  }
  await Promise.all([...document.images].map((img) => img.complete ? null :
      new Promise((r) => { img.addEventListener("load", r); img.addEventListener("error", r);
                           setTimeout(r, Math.max(0, deadline - Date.now())); })));
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  done(status);
})();
