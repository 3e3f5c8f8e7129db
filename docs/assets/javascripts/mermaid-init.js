// Render the docs' ```mermaid blocks with the vendored mermaid (no CDN): superfences writes
// them as <div class="mermaid">, which mkdocs-material leaves alone (it would fetch mermaid
// from unpkg for <pre class="mermaid">).
(function () {
  if (typeof mermaid === "undefined") {
    return;
  }
  mermaid.initialize({
    startOnLoad: false,
    securityLevel: "strict",
    theme: "default",
    fontFamily: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    themeVariables: { fontSize: "16px" },
    flowchart: { useMaxWidth: true, htmlLabels: true },
  });
  function render() {
    mermaid.run({ querySelector: "div.mermaid" });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", render);
  } else {
    render();
  }
})();
