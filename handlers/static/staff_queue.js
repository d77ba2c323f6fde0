/* Live queue: urgent tips arriving are added to the top of the table and highlighted,
 * without reloading. Server-Sent Events from /api/v1/staff/events (same origin, scoped to
 * the officer's jurisdiction by the server). Progressive: without JavaScript or
 * EventSource the page works as before. Values go in as text nodes, never as markup. */
(function () {
  "use strict";
  var table = document.querySelector("table.queue[data-live]");
  if (!table || !window.EventSource) { return; }
  var body = table.tBodies[0];
  var live = document.getElementById("live");
  var urgentWord = table.getAttribute("data-urgent-label") || "Urgent";
  var arrivedWord = table.getAttribute("data-arrived-label") || "New urgent tip";
  var source = new EventSource("/api/v1/staff/events");

  function cell(row, text) {
    var td = document.createElement("td");
    td.textContent = text === null || text === undefined ? "–" : String(text);
    row.appendChild(td);
    return td;
  }

  source.addEventListener("urgent", function (event) {
    var tip;
    try { tip = JSON.parse(event.data); } catch (e) { return; }
    if (typeof tip.id !== "number" || document.getElementById("tip-" + tip.id)) { return; }
    var row = document.createElement("tr");
    row.id = "tip-" + tip.id;
    row.className = "urgent arrived";
    var first = document.createElement("td");
    var link = document.createElement("a");
    link.href = "/staff/tips/" + tip.id;
    link.textContent = String(tip.id);
    first.appendChild(link);
    row.appendChild(first);
    cell(row, tip.stage_label);
    cell(row, tip.category_label);
    cell(row, urgentWord);
    cell(row, tip.place || tip.commune_code);
    cell(row, tip.received);
    var due = cell(row, tip.deadline);
    if (typeof tip.badge === "string" && tip.badge !== "none") {
      var badge = document.createElement("span");
      badge.className = "badge " + tip.badge;
      badge.textContent = String(tip.badge_label);
      due.appendChild(document.createTextNode(" "));
      due.appendChild(badge);
    }
    var empty = body.querySelector("td[colspan]");
    if (empty) { empty.parentNode.parentNode.removeChild(empty.parentNode); }
    body.insertBefore(row, body.firstChild);
    if (live) {
      live.textContent = arrivedWord + " #" + tip.id;
      live.hidden = false;
    }
  });

  source.addEventListener("open", function () { table.setAttribute("data-live-open", "1"); });
  source.addEventListener("ended", function () { source.close(); });
})();
