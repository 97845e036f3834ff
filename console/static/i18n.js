// The browser side of the console's languages: t("texte français", {n: 3}) reads the page's catalogue.
"use strict";
(function () {
  let entries = null;
  function catalogue() {
    if (entries === null) {
      const node = document.getElementById("i18n-catalogue");
      try { entries = node ? JSON.parse(node.textContent || "{}") : {}; } catch (e) { entries = {}; }
    }
    return entries;
  }
  function fill(text, params) {
    if (!params) return text;
    return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
  }
  window.t = function (text, params) {
    const found = catalogue()[text];
    return fill(typeof found === "string" && found ? found : text, params);
  };
  window.currentLanguage = function () { return document.documentElement.lang || "fr"; };
})();
