// Paste page: drag and drop files onto the form, list the chosen files, and say
// "Analysing…" while the request runs. The form works without this script.
(function () {
  "use strict";
  var form = document.getElementById("paste-form");
  if (!form) { return; }
  var drop = document.getElementById("drop");
  var input = document.getElementById("files");
  var list = document.getElementById("filelist");
  var text = document.getElementById("log");
  var button = document.getElementById("analyse");

  function showFiles() {
    while (list.firstChild) { list.removeChild(list.firstChild); }
    var files = input.files || [];
    for (var i = 0; i < files.length; i++) {
      var li = document.createElement("li");
      li.textContent = files[i].name + " (" + Math.max(1, Math.round(files[i].size / 1024)) + " KiB)";
      list.appendChild(li);
    }
    list.hidden = files.length === 0;
  }

  input.addEventListener("change", showFiles);
  ["dragenter", "dragover"].forEach(function (name) {
    document.addEventListener(name, function (e) {
      e.preventDefault();
      drop.classList.add("over");
    });
  });
  ["dragleave", "drop"].forEach(function (name) {
    document.addEventListener(name, function (e) {
      e.preventDefault();
      if (name === "drop" || e.target === document.documentElement) { drop.classList.remove("over"); }
    });
  });
  document.addEventListener("drop", function (e) {
    var files = e.dataTransfer && e.dataTransfer.files;
    if (!files || !files.length) {
      var dropped = e.dataTransfer && e.dataTransfer.getData("text/plain");
      if (dropped) { text.value = dropped; }
      return;
    }
    try {
      input.files = files;  // a FileList from a drop can be assigned in every current browser
    } catch (err) {
      var dt = new DataTransfer();
      for (var i = 0; i < files.length; i++) { dt.items.add(files[i]); }
      input.files = dt.files;
    }
    showFiles();
  });
  text.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { form.requestSubmit ? form.requestSubmit() : form.submit(); }
  });
  form.addEventListener("submit", function () {
    button.disabled = true;
    button.textContent = "Analysing…";
  });
  window.addEventListener("pageshow", function () {
    button.disabled = false;
    button.textContent = "Analyse";
  });
})();
