// tests/test_browser.py runs this (async) on each loaded page, after injecting axe-core
// (tools/browser/node_modules/axe-core/axe.min.js): the accessibility audit's critical
// and serious violations, each with the first few elements it names.
//
// One finding is the theme's and is left out, element by element (the rule still runs
// on everything else): pydata-sphinx-theme 0.17's navbar buttons name themselves by an
// aria-label that does not contain their visible text: the search button reads
// "Search" but shows "Search Ctrl+K", the colour-mode button reads "Color mode" over
// its icons (label-content-name-mismatch). The book cannot change those templates'
// attributes short of overriding the theme's templates.
const done = arguments[arguments.length - 1];
const THEME = {"label-content-name-mismatch": ".search-button-field, .theme-switch-button"};
const ours = (v, n) => !(THEME[v.id] && n.element && n.element.closest(THEME[v.id]));
axe.run(document, {resultTypes: ["violations"], elementRef: true}).then((result) => done(
  result.violations.filter((v) => ["critical", "serious"].includes(v.impact))
    .map((v) => ({...v, nodes: v.nodes.filter((n) => ours(v, n))}))
    .filter((v) => v.nodes.length).map((v) => ({
      id: v.id, impact: v.impact, help: v.help, count: v.nodes.length,
      nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ") + ": "
        + (n.failureSummary || "").replace(/\s+/g, " ").slice(0, 240)),
    }))), (error) => done([{id: "axe-error", impact: "critical", help: String(error),
                             count: 1, nodes: []}]));
