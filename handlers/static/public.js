/* Public pages, progressive enhancement only: every page works without this file.
   1. Quick exit: leave for a neutral site and replace this page in the history, so the
      back button does not lead here.
   2. Long lists (a select marked data-search-label: the communes of the report form, the
      agencies an officer refers a tip to): a search box above the list that narrows it as
      you type, ignoring tone marks and case ("dong hoa" finds "Đông Hòa"). */
(function () {
  "use strict";
  var exit = document.getElementById("quick-exit");
  if (exit) {
    exit.addEventListener("click", function (event) {
      event.preventDefault();
      window.location.replace(exit.href);
    });
  }
  function fold(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/đ/g, "d").replace(/Đ/g, "d").toLowerCase().replace(/\s+/g, " ").trim();
  }
  function searchable(select) {
    var all = Array.prototype.slice.call(select.options);
    var keys = all.map(function (option) { return fold(option.text); });
    var label = document.createElement("label");
    label.htmlFor = select.id + "_search";
    label.textContent = select.getAttribute("data-search-label") || "";
    var box = document.createElement("input");
    box.type = "search";
    box.id = select.id + "_search";
    box.autocomplete = "off";
    box.className = "search";
    select.parentNode.insertBefore(label, select);
    select.parentNode.insertBefore(box, select);
    box.addEventListener("input", function () {
      var wanted = fold(box.value);
      var chosen = select.value;
      while (select.options.length) { select.remove(0); }
      all.forEach(function (option, index) {
        if (index === 0 || option.value === chosen || keys[index].indexOf(wanted) !== -1) {
          select.add(option);
        }
      });
      select.value = chosen;
      if (wanted && select.options.length === 2 && !chosen) { select.selectedIndex = 1; }
    });
  }
  Array.prototype.forEach.call(document.querySelectorAll("select[data-search-label]"), searchable);
})();
