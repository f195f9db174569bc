/* mesovision clinic app: uploads with their checks, the face diagram, job progress.
   No library, no inline script (the Content-Security-Policy forbids it). */
(function () {
  "use strict";
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");

  function getJSON(url) {
    return fetch(url, {credentials: "same-origin"}).then(function (r) { return r.json(); });
  }

  /* --- job progress on the course page: poll until done, then reload --- */
  var jobBox = document.getElementById("job");
  if (jobBox) {
    var jobId = jobBox.getAttribute("data-job");
    var bar = document.getElementById("job-progress"), label = document.getElementById("job-label");
    var poll = function () {
      getJSON("/jobs/" + jobId).then(function (j) {
        bar.max = Math.max(1, j.total); bar.value = j.done;
        label.textContent = j.label || j.state;
        if (j.state === "done") { window.location.reload(); return; }
        if (j.state === "failed") {
          var err = document.getElementById("job-error");
          err.textContent = j.error; err.hidden = false; return;
        }
        window.setTimeout(poll, 700);
      }).catch(function () { window.setTimeout(poll, 2000); });
    };
    window.setTimeout(poll, 300);
  }

  /* --- the face diagram: a click toggles the region's checkbox --- */
  function syncRegion(name) {
    var box = document.getElementById("treated-" + name);
    document.querySelectorAll('#diagram .region[data-region="' + name + '"]').forEach(function (p) {
      p.classList.toggle("picked", box.checked);
    });
  }
  document.querySelectorAll("#diagram .region").forEach(function (p) {
    var name = p.getAttribute("data-region");
    p.addEventListener("click", function () {
      var box = document.getElementById("treated-" + name);
      if (box) { box.checked = !box.checked; syncRegion(name); }
    });
  });
  document.querySelectorAll("#region-list input").forEach(function (box) {
    box.addEventListener("change", function () { syncRegion(box.value); });
  });

  /* --- the patient search: filters the list on the page; nothing typed leaves the page (no
     name in the address or the history). Case and accents folded as the server folds the
     rows' data-search (patients.py: _folded). --- */
  var search = document.getElementById("patient-search");
  if (search) {
    var q = document.getElementById("q"), status = document.getElementById("search-status");
    var rows = document.querySelectorAll("#patients-table .patient-row");
    var folded = function (s) {
      return s.toLowerCase().replace(/\u00df/g, "ss").normalize("NFKD").replace(/\p{M}/gu, "");
    };
    var filter = function () {
      var term = folded(q.value.trim()), shown = 0;
      rows.forEach(function (row) {
        var hit = !term || row.getAttribute("data-search").indexOf(term) >= 0;
        row.hidden = !hit;
        if (hit) { shown += 1; }
      });
      status.textContent = !term ? "" : shown
        ? shown + " of " + rows.length + " patients shown"
        : "No patient matches \u201c" + q.value.trim() + "\u201d (" + rows.length + " in the store)";
    };
    q.addEventListener("input", filter);
    search.hidden = false;
    filter();  /* a value the browser restored */
  }

  /* --- photos: upload at once, show the checks beside the thumbnail --- */
  var form = document.getElementById("session-form");
  if (!form) { return; }
  var patient = form.getAttribute("data-patient");
  var list = document.getElementById("photos"), tpl = document.getElementById("photo-card");
  var nextView = document.getElementById("next-view");

  function showChecks(card, info) {
    var state = card.querySelector(".state"), ul = card.querySelector(".checks");
    if (info.error) {
      state.textContent = "refused: " + info.error; card.classList.add("refused"); return;
    }
    var failed = [], before = card.getAttribute("data-failed");
    ul.textContent = "";
    info.report.checks.forEach(function (c) {
      if (c.ok) { return; }
      var li = document.createElement("li");
      li.className = c.severity === "fail" ? "fail" : "warn";
      li.textContent = (c.severity === "fail" ? "fails: " : "warning: ") + c.name + ": " + c.message;
      ul.appendChild(li);
      if (c.severity === "fail") { failed.push(c.name); }
    });
    (info.warnings || []).forEach(function (w) {
      var li = document.createElement("li");
      li.className = "warn"; li.textContent = "warning: " + w;
      ul.appendChild(li);
    });
    state.textContent = failed.length
      ? failed.length + " check(s) failed: retake the photo, or accept it with a reason"
      : "capture checks passed";
    card.classList.remove("failed", "passed");
    card.classList.add(failed.length ? "failed" : "passed");
    card.querySelector(".accept").hidden = !failed.length;
    /* a reason covers the failures it was given for: new ones need it given again */
    if (before !== null && before !== failed.join(",")) { card.querySelector(".accept-reason").value = ""; }
    card.setAttribute("data-failed", failed.join(","));
    if (info.thumb) { card.querySelector(".thumb").src = "/uploads/" + info.upload + "/thumb.jpg"; }
    if (!card.querySelector('input[name="photo"]')) {
      var hidden = document.createElement("input");
      hidden.type = "hidden"; hidden.name = "photo"; hidden.value = info.upload;
      card.appendChild(hidden);
    }
  }

  /* after a refusal: the checks as filing ran them (against the current baseline) */
  function recheckCards() {
    list.querySelectorAll(".photo-card[data-upload]").forEach(function (card) {
      getJSON("/uploads/" + card.getAttribute("data-upload")).then(function (info) {
        if (info.report) { showChecks(card, info); }
      });
    });
  }

  function waitFor(card, up) {
    getJSON("/jobs/" + up.job).then(function (j) {
      if (j.state === "done" || j.state === "failed") {
        return getJSON("/uploads/" + up.upload).then(function (info) {
          if (j.state === "failed") { info.error = j.error; }
          showChecks(card, info);
        });
      }
      window.setTimeout(function () { waitFor(card, up); }, 500);
    }).catch(function () {  /* a busy server or a dropped request: ask again, a little later */
      window.setTimeout(function () { waitFor(card, up); }, 2000);
    });
  }

  function upload(file) {
    var view = nextView.value.trim() || "front";
    var card = tpl.content.firstElementChild.cloneNode(true);
    card.querySelector(".name").textContent = file.name;
    card.querySelector(".view").textContent = "(" + view + ")";
    var same = Array.prototype.some.call(list.querySelectorAll(".photo-card .view"), function (v) {
      return v.textContent === "(" + view + ")";
    });
    if (same) {  /* one photo per view and session: said now, not only when filing */
      var note = document.createElement("p");
      note.className = "error same-view";
      note.textContent = "another photo of this session has the view " + view +
        ": one photo per view; remove one, or choose the view before adding the photo";
      card.querySelector(".info").appendChild(note);
    }
    list.appendChild(card);
    var data = new FormData();
    data.append("file", file); data.append("view", view); data.append("patient", patient);
    fetch("/uploads", {method: "POST", body: data, credentials: "same-origin",
                       headers: {"X-CSRF-Token": csrf}})
      .then(function (r) {
        return r.text().then(function (t) {
          var body; try { body = JSON.parse(t); } catch (e) { body = {error: t}; }
          if (!r.ok) { throw new Error(body.error || t); }
          return body;
        });
      })
      .then(function (up) {
        card.setAttribute("data-upload", up.upload);
        var viewInput = document.createElement("input");
        viewInput.type = "hidden"; viewInput.name = "view_" + up.upload; viewInput.value = view;
        card.appendChild(viewInput);
        card.querySelector(".accept-reason").name = "accept_" + up.upload;
        card.querySelector(".scale-input").name = "scale_" + up.upload;
        waitFor(card, up);
      })
      .catch(function (e) { showChecks(card, {error: e.message}); });
    card.querySelector(".discard").addEventListener("click", function () {
      var uid = card.getAttribute("data-upload");
      card.remove();
      if (uid) {  /* the server deletes the staged file */
        fetch("/uploads/" + uid + "/discard", {method: "POST", body: "", credentials: "same-origin",
                                               headers: {"X-CSRF-Token": csrf}});
      }
    });
  }

  /* filing: posted from the page, so that a refusal (a failed check without a reason, another
     person, a duplicate) is shown here and the photos stay on the page */
  var formError = document.getElementById("form-error");
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    formError.hidden = true;
    var button = document.getElementById("file-session");
    button.disabled = true; button.textContent = "Filing the session…";
    function refused(text) {
      formError.textContent = text;
      formError.hidden = false;
      button.disabled = false; button.textContent = "File the session";
      formError.scrollIntoView({block: "center"});
    }
    fetch(form.action, {method: "POST", body: new FormData(form), credentials: "same-origin",
                        headers: {"Accept": "application/json"}})
      .then(function (r) {
        return r.text().then(function (t) {
          var answer; try { answer = JSON.parse(t); } catch (e) { answer = {error: t}; }
          if (answer.location) { window.location.assign(answer.location); return; }
          refused(answer.error);
          recheckCards();
        });
      })
      .catch(function (e) { refused("the server did not answer: " + e.message); });
  });

  var input = document.getElementById("file-input"), drop = document.getElementById("drop");
  function takeChosen() { Array.prototype.forEach.call(input.files, upload); input.value = ""; }
  input.addEventListener("change", takeChosen);
  if (input.files.length) { takeChosen(); }  /* chosen before this script ran (a slow load) */
  drop.addEventListener("dragover", function (ev) { ev.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", function () { drop.classList.remove("over"); });
  drop.addEventListener("drop", function (ev) {
    ev.preventDefault(); drop.classList.remove("over");
    Array.prototype.forEach.call(ev.dataTransfer.files, upload);
  });
})();
