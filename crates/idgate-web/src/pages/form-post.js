// Submits the form_post page's form at once (OAuth 2.0 Form Post Response Mode). The
// page's button does the same without JavaScript.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("form-post");
  if (form) {
    form.submit();
  }
});
