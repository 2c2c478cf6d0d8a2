// Adds the reader's local time beside each block time; the pages read fine without it.
"use strict";
document.querySelectorAll("time[datetime]").forEach(function (t) {
  var d = new Date(t.getAttribute("datetime"));
  if (isNaN(d)) return;
  var s = document.createElement("span");
  s.className = "local";
  s.textContent = " (your time: " + d.toLocaleString() + ")";
  t.after(s);
});
