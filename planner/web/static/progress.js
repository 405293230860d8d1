// Live progress of a run: polls /runs/<id>/progress and reloads the page when the run ends.
(function () {
  var me = document.currentScript;
  var url = me.getAttribute("data-url");
  var state = me.getAttribute("data-state");
  if (state !== "queued" && state !== "running") { return; }
  function fmt(v) { return (v === null || v === undefined) ? "-" : Number(v).toPrecision(6); }
  function tick() {
    fetch(url, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (d) {
      if (d.state !== "queued" && d.state !== "running") { window.location.reload(); return; }
      document.getElementById("run-state").textContent = d.state_zh;
      document.getElementById("run-state").className = "state state-" + d.state;
      var p = d.progress;
      if (p) {
        var items = document.querySelectorAll("#stages li");
        for (var i = 0; i < items.length; i++) {
          items[i].className = i < p.stages_done ? "done" : (i === p.stages_done && d.state === "running" ? "active" : "");
        }
        document.getElementById("stage-label").textContent = p.stage_label;
        document.getElementById("solver-solve").textContent = p.solver.solve;
        document.getElementById("solver-best").textContent = fmt(p.solver.best);
        document.getElementById("solver-bound").textContent = fmt(p.solver.bound);
        document.getElementById("solver-gap").textContent = p.solver.gap === null ? "-" : (p.solver.gap * 100).toFixed(2) + "%";
        document.getElementById("log").textContent = p.log.join("\n");
      }
      setTimeout(tick, 1000);
    }).catch(function () { setTimeout(tick, 3000); });
  }
  setTimeout(tick, 1000);
})();
