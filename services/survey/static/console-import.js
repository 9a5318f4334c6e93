// Roster import: send the chosen file with XMLHttpRequest so that a progress bar shows the
// upload, then show the server's result (its own HTML) in place. Without this script the
// form posts as usual and the page that comes back shows the same result.
(function () {
  var form = document.getElementById("import-form");
  if (!form || !window.FormData || !window.XMLHttpRequest) {
    return;
  }
  var box = document.getElementById("import-progress");
  var bar = document.getElementById("import-bar");
  var status = document.getElementById("import-status");
  var result = document.getElementById("import-result");
  var button = form.querySelector("button[type=submit]");

  function show(text, percent) {
    box.hidden = false;
    status.textContent = text;
    if (percent === null) {
      bar.removeAttribute("value");  // indeterminate: the server is importing
    } else {
      bar.value = percent;
    }
  }

  form.addEventListener("submit", function (event) {
    var file = form.querySelector("input[type=file]");
    if (!file.files || !file.files.length) {
      return;  // the server says what is missing
    }
    event.preventDefault();
    var request = new XMLHttpRequest();
    request.open("POST", form.action);
    request.setRequestHeader("X-Rapport-Partial", "import");
    request.setRequestHeader("HX-Request", "true");  // signed out: told where to go, not redirected
    request.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) {
        var percent = Math.round((e.loaded / e.total) * 100);
        show("Uploading: " + percent + "%", percent);
      }
    });
    request.upload.addEventListener("load", function () {
      show("Uploaded (100%); importing the rows…", null);
    });
    request.addEventListener("load", function () {
      box.hidden = true;
      button.disabled = false;
      if (request.getResponseHeader("HX-Redirect")) {
        window.location = request.getResponseHeader("HX-Redirect");
        return;
      }
      result.innerHTML = request.responseText;  // the server's escaped HTML
      var heading = result.querySelector("h2");
      if (heading) {
        heading.focus();
      }
    });
    request.addEventListener("error", function () {
      box.hidden = true;
      button.disabled = false;
      result.innerHTML = "";
      var p = document.createElement("p");
      p.className = "form-error";
      p.setAttribute("role", "alert");
      p.textContent = "The upload failed (the connection was lost): nothing may have been imported. Try again.";
      result.appendChild(p);
    });
    button.disabled = true;
    show("Uploading: 0%", 0);
    request.send(new FormData(form));
  });
})();
