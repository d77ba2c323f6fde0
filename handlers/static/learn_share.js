// The "copy the link" button of a library item's share block. Without JavaScript the
// address stays in a read-only field to select and copy by hand; nothing else depends on it.
(function () {
  "use strict";
  document.querySelectorAll("input[data-copy]").forEach(function (field) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "copy";
    button.textContent = field.getAttribute("data-copy");
    button.addEventListener("click", function () {
      var done = function () { button.textContent = field.getAttribute("data-copied"); };
      field.select();
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(done, function () {
          if (document.execCommand("copy")) { done(); }
        });
      } else if (document.execCommand("copy")) {
        done();
      }
    });
    field.insertAdjacentElement("afterend", button);
  });
})();
