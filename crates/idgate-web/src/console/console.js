// idgate console: live validation of templates. Loaded from /assets/console.js (no
// inline scripts, so the console's Content-Security-Policy can forbid them). Every page
// works without it: the server validates each form again on submit.
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="idgate-csrf"]');
  var csrf = meta ? meta.getAttribute("content") : "";
  function debounce(fn, ms) {
    var t = null;
    return function () {
      var args = arguments;
      clearTimeout(t);
      t = setTimeout(function () { fn.apply(null, args); }, ms);
    };
  }
  function check(el) {
    var kind = el.getAttribute("data-validate");
    var out = document.getElementById(el.getAttribute("aria-describedby"));
    var form = el.form;
    var ct = form && form.elements["content_type"] ? form.elements["content_type"].value : "json";
    var body = new URLSearchParams();
    body.set("kind", kind);
    body.set("text", el.value);
    body.set("content_type", ct);
    fetch("/console/validate", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded", "X-Idgate-Csrf": csrf },
      body: body.toString()
    }).then(function (r) { return r.json(); }).then(function (v) {
      if (!out) { return; }
      out.textContent = v.ok ? "" : v.error;
      var hint = out.previousElementSibling;
      if (hint && hint.classList.contains("hint") && v.ok && v.info) { hint.textContent = v.info; }
      el.closest(".field").classList.toggle("invalid", !v.ok);
    }).catch(function () {});
  }
  document.querySelectorAll("[data-validate]").forEach(function (el) {
    el.addEventListener("input", debounce(function () { check(el); }, 300));
  });
})();
