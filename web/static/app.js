// Progressive enhancement only: "/" focuses the search box; suggestions while typing.
(function () {
  var box = document.getElementById("q");
  var list = document.getElementById("suggestions");
  if (!box) return;
  document.addEventListener("keydown", function (e) {
    var tag = (document.activeElement && document.activeElement.tagName) || "";
    if (e.key === "/" && tag !== "INPUT" && tag !== "TEXTAREA") { e.preventDefault(); box.focus(); box.select(); }
  });
  var timer = null;
  box.addEventListener("input", function () {
    clearTimeout(timer);
    var value = box.value.trim();
    if (!value || !list) return;
    timer = setTimeout(function () {
      fetch("/api/suggest?q=" + encodeURIComponent(value)).then(function (r) { return r.json(); }).then(function (data) {
        list.textContent = "";
        (data.suggestions || []).forEach(function (s) { var o = document.createElement("option"); o.value = s.text; list.appendChild(o); });
      }).catch(function () {});
    }, 150);
  });
})();
