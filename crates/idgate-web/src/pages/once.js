// Sign-in pages: a form is submitted once. A double click on "Verify" (or "Sign in") would
// otherwise send the same code twice; the server copes with that (login/forward.rs), but the
// browser then shows whichever answer came last. Progressive enhancement only: every page
// works without this script. After a few seconds the form can be sent again, so a lost
// answer never leaves the user stuck.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    if (form.dataset.sent === "1") {
      event.preventDefault();
      return;
    }
    form.dataset.sent = "1";
    setTimeout(function () { delete form.dataset.sent; }, 5000);
  }, true);
})();
