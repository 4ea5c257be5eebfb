// For each widget slider on the page: its readout, its label and a fingerprint of the
// pictures shown beside it (the images inside the same widget output), so that
// tests/test_browser.py can move it and see whether the picture changes. The
// fingerprint hashes the decoded pixels: the same picture shown again by a new view
// (a new blob: URL) has the same fingerprint. An image still loading reads "loading".
const fingerprint = (img) => {
  if (!img.complete || img.naturalWidth === 0) return "loading";
  const canvas = document.createElement("canvas");
  canvas.width = img.naturalWidth;
  canvas.height = img.naturalHeight;
  const ctx = canvas.getContext("2d");
  ctx.drawImage(img, 0, 0);
  const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  let h = 0x811c9dc5;  // FNV-1a over every 7th byte
  for (let i = 0; i < data.length; i += 7) h = Math.imul(h ^ data[i], 0x01000193) >>> 0;
  return `${canvas.width}x${canvas.height}:${h.toString(16)}`;
};
const sliders = [...document.querySelectorAll(".widget-slider")];
return sliders.map((s) => {
  const area = s.closest(".widget-subarea") || s.parentElement;
  const readout = s.querySelector(".widget-readout");
  return {pictures: [...area.querySelectorAll("img")].map(fingerprint).join(" "),
          readout: readout ? (readout.value || readout.textContent).trim() : "",
          label: (s.querySelector(".widget-label") || {}).textContent || ""};
});
