// otel-kedro report: mark nodes by name in the graph and the waterfall.
(function () {
  var find = document.getElementById("find");
  function mark() {
    var q = find.value.trim().toLowerCase(), count = 0;
    document.querySelectorAll("[data-node]").forEach(function (el) {
      var hit = q !== "" && el.getAttribute("data-node").toLowerCase().indexOf(q) >= 0;
      el.classList.toggle("hit", hit);
      if (hit) { count += 1; }
    });
    document.getElementById("found").textContent = q ? count + " marked" : "";
  }
  find.addEventListener("input", mark);
  document.querySelectorAll(".graph [data-node], .waterfall [data-node]").forEach(function (el) {
    el.addEventListener("click", function () {
      find.value = el.getAttribute("data-node");
      mark();
    });
  });
})();
