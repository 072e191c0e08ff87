// govmail: optional helpers. Every page works without them.
(function () {
  "use strict";
  // Recipient suggestions from the directory for fields marked data-suggest.
  function attach(input) {
    var list = document.createElement("ul");
    list.className = "suggest";
    list.hidden = true;
    list.setAttribute("role", "listbox");
    input.parentNode.appendChild(list);
    var timer = null, items = [], active = -1;
    function current() {
      var parts = input.value.split(/[,;]/);
      return parts[parts.length - 1].trim();
    }
    function choose(i) {
      var e = items[i];
      if (!e) return;
      var parts = input.value.split(/[,;]/);
      parts[parts.length - 1] = " " + (e.name ? e.name + " <" + e.address + ">" : e.address);
      input.value = parts.join(",").replace(/^\s+/, "") + ", ";
      list.hidden = true;
      input.focus();
    }
    function show(data) {
      items = data; active = -1;
      list.textContent = "";
      data.forEach(function (e, i) {
        var li = document.createElement("li");
        li.setAttribute("role", "option");
        li.textContent = (e.name ? e.name + " " : "") + "<" + e.address + ">" + (e.position ? " · " + e.position : "");
        li.addEventListener("mousedown", function (ev) { ev.preventDefault(); choose(i); });
        list.appendChild(li);
      });
      list.style.minWidth = input.offsetWidth + "px";
      list.hidden = data.length === 0;
    }
    input.addEventListener("input", function () {
      clearTimeout(timer);
      var q = current();
      if (q.length < 2) { list.hidden = true; return; }
      timer = setTimeout(function () {
        fetch("/contacts/suggest?q=" + encodeURIComponent(q), { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.json() : []; })
          .then(show, function () { list.hidden = true; });
      }, 200);
    });
    input.addEventListener("keydown", function (ev) {
      if (list.hidden) return;
      if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
        ev.preventDefault();
        active = (active + (ev.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
        Array.prototype.forEach.call(list.children, function (li, i) {
          li.setAttribute("aria-selected", i === active ? "true" : "false");
        });
      } else if (ev.key === "Enter" && active >= 0) {
        ev.preventDefault(); choose(active);
      } else if (ev.key === "Escape") {
        list.hidden = true;
      }
    });
    input.addEventListener("blur", function () { setTimeout(function () { list.hidden = true; }, 150); });
  }
  document.querySelectorAll("input[data-suggest]").forEach(attach);
})();
