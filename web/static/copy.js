// Progressive enhancement only: a 复制链接 button beside each hit's permalink.
// navigator.clipboard exists only in a secure context (https, or the server on this machine);
// a server on the office network over plain http gets the older execCommand copy, and if that
// fails too, the link is shown selected for Ctrl+C. Without JavaScript the link is still there.
(function () {
  var links = document.querySelectorAll(".hit-link a.permalink");
  if (!links.length) return;

  function copiedByCommand(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "copy-buffer";
    document.body.appendChild(area);
    area.select();
    var done = false;
    try { done = document.execCommand("copy"); } catch (e) { done = false; }
    document.body.removeChild(area);
    return done;
  }

  function report(button, text, done) {
    var status = button.nextElementSibling;
    status.textContent = "";
    if (done) {
      status.textContent = "已复制";
      return;
    }
    var box = document.createElement("input");
    box.type = "text";
    box.readOnly = true;
    box.value = text;
    box.setAttribute("aria-label", "段落链接（按 Ctrl+C 复制）");
    status.appendChild(box);
    box.select();
  }

  links.forEach(function (link) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "copy-link";
    button.textContent = "复制链接";
    var status = document.createElement("span");
    status.className = "copy-status";
    status.setAttribute("role", "status");
    button.addEventListener("click", function () {
      var text = link.href;  // absolute, whatever the page's address
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(function () { report(button, text, true); },
          function () { report(button, text, copiedByCommand(text)); });
      } else {
        report(button, text, copiedByCommand(text));
      }
    });
    link.after(button, status);
  });
})();
