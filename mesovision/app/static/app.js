/* mesovision clinic app: uploads with their checks, the face diagram, job progress.
   No library, no inline script (the Content-Security-Policy forbids it). */
(function () {
  "use strict";
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");

  function getJSON(url) {
    return fetch(url, {credentials: "same-origin"}).then(function (r) { return r.json(); });
  }

  /* --- job progress on the course page: poll until done, then reload. The live region
     (#job-status) says the start, the end and a failure, not each step; the reload keeps
     the scroll position and the focused element, and says the comparisons are done. --- */
  var jobStatus = document.getElementById("job-status");
  var FOCUSABLE = "a[href], button, input, select, textarea";
  function describe(el) {  /* the focused element, as found again after the reload */
    if (!el || el === document.body) { return null; }
    if (el.id) { return {id: el.id}; }
    var s = el.closest("[data-session]");
    return {session: s ? s.getAttribute("data-session") : null, cls: el.className, text: el.textContent.trim()};
  }
  function find(d) {
    if (!d) { return null; }
    if (d.id) { return document.getElementById(d.id); }
    var scope = d.session ? document.querySelector('#timeline [data-session="' + d.session + '"]') : document;
    return scope ? Array.prototype.filter.call(scope.querySelectorAll(FOCUSABLE), function (e) {
      return e.className === d.cls && e.textContent.trim() === d.text; })[0] || null : null;
  }
  var restore = null;
  try { restore = JSON.parse(window.sessionStorage.getItem("mv-restore") || "null"); } catch (e) { restore = null; }
  if (restore && restore.path === window.location.pathname + window.location.search) {
    window.sessionStorage.removeItem("mv-restore");
    window.scrollTo(0, restore.y);
    var again = find(restore.focus);
    if (again) { again.focus({preventScroll: true}); }
    var pageStatus = document.getElementById("page-status");
    if (pageStatus) {
      window.setTimeout(function () {
        pageStatus.textContent = document.getElementById("course-view")
          ? "The comparisons are done: the course is shown below the sessions."
          : "The comparisons are done.";
      }, 300);
    }
  } else { restore = null; }
  var jobBox = document.getElementById("job");
  if (jobBox) {
    var jobId = jobBox.getAttribute("data-job");
    var bar = document.getElementById("job-progress"), label = document.getElementById("job-label");
    window.setTimeout(function () { jobStatus.textContent = "Comparing the sessions: started."; }, 300);
    var poll = function () {
      getJSON("/jobs/" + jobId).then(function (j) {
        bar.max = Math.max(1, j.total); bar.value = j.done;
        label.textContent = j.label || j.state;
        if (j.state === "done") {
          jobStatus.textContent = "The comparisons are done.";
          window.sessionStorage.setItem("mv-restore", JSON.stringify({
            path: window.location.pathname + window.location.search, y: window.scrollY,
            focus: describe(document.activeElement)}));
          window.location.reload(); return;
        }
        if (j.state === "failed") {
          var err = document.getElementById("job-error");
          err.textContent = "The comparisons failed: " + j.error; err.hidden = false; return;
        }
        window.setTimeout(poll, 700);
      }).catch(function () { window.setTimeout(poll, 2000); });
    };
    window.setTimeout(poll, 300);
  }
  /* the confirmation of a session filed: focused, so that it is read out */
  var filedStatus = document.getElementById("filed-status");
  if (filedStatus && !restore) { filedStatus.focus(); }

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

  /* --- a session's date (the new-session and the edit forms, _session_date.html): a date
     after today (the server's, data-today) is said at once, before filing or saving (a new
     session filed with it is warned about, as `session add` warns) --- */
  var dateInput = document.querySelector("input#date[data-today]");
  if (dateInput) {
    var dateFuture = document.getElementById("date-future");
    var sayFuture = function () {
      dateFuture.hidden = !(dateInput.value && dateInput.value > dateInput.getAttribute("data-today"));
    };
    dateInput.addEventListener("input", sayFuture);
    dateInput.addEventListener("change", sayFuture);
    sayFuture();  /* a value the browser restored, or a session dated after today */
  }

  /* --- photos: upload at once (with its progress), show the checks beside the thumbnail; a
     card's state is in data-state: uploading, checking, passed, failed, refused (by the app
     or its checks) or unsent (the connection failed). The list's live region says each
     photo's state as it changes. --- */
  var form = document.getElementById("session-form");
  if (!form) { return; }
  var patient = form.getAttribute("data-patient");
  var list = document.getElementById("photos"), tpl = document.getElementById("photo-card");
  var nextView = document.getElementById("next-view");
  var photosStatus = document.getElementById("photos-status");
  var FACE_VIEWS = ["front", "left-45", "right-45"];
  var serial = 0;

  function announce(text) { photosStatus.textContent = text; }
  function cards() { return Array.prototype.slice.call(list.querySelectorAll(".photo-card")); }
  function cardName(card) { return card.querySelector(".name").textContent; }
  function cardView(card) { return card.querySelector(".view-input").value.trim() || "front"; }

  function setState(card, name, text) {
    card.setAttribute("data-state", name);
    card.querySelector(".state").textContent = text;
    card.querySelector(".upload-progress").hidden = name !== "uploading";
    card.querySelector(".retry").hidden = name !== "unsent";
    announce(cardName(card) + ": " + text);
  }

  /* one photo per view and session: said on each card as views change, not only when filing */
  function checkViews() {
    var seen = {};
    cards().forEach(function (card) {
      var v = cardView(card), note = card.querySelector(".same-view");
      note.hidden = !seen[v];
      note.textContent = seen[v] ? "another photo of this session (" + seen[v] + ") has the view " + v +
        ": one photo per view; change the view of one of them, or remove one" : "";
      seen[v] = seen[v] || cardName(card);
    });
  }

  function showChecks(card, info) {
    var ul = card.querySelector(".checks"), name = cardName(card);
    if (info.error) {  /* refused: no photo to show, no scale to give */
      card.classList.add("refused");
      card.querySelector(".thumb").hidden = true;
      card.querySelector(".scale").hidden = true;
      setState(card, "refused", "refused: " + info.error);
      return;
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
    if (info.report.duplicate) {  /* cannot be accepted: this file is filed already */
      var dup = document.createElement("li");
      dup.className = "fail duplicate"; dup.textContent = "not filed again: " + info.report.duplicate + ": remove it";
      ul.appendChild(dup);
    }
    card.classList.remove("failed", "passed");
    card.classList.add(failed.length || info.report.duplicate ? "failed" : "passed");
    card.querySelector(".accept").hidden = !failed.length;
    var reason = card.querySelector(".accept-reason");
    reason.setAttribute("aria-label", "Reason to accept " + name + " (fails: " + failed.join(", ").replace(/_/g, " ") + ")");
    /* a reason covers the failures it was given for: new ones need it given again */
    if (before !== null && before !== failed.join(",")) { reason.value = ""; }
    card.setAttribute("data-failed", failed.join(","));
    if (info.thumb) {
      var img = card.querySelector(".thumb");
      img.alt = name + " with the measured regions drawn";
      img.src = "/uploads/" + info.upload + "/thumb.jpg"; img.hidden = false;
    }
    card.querySelector(".scale").hidden = false;
    if (!card.querySelector('input[name="photo"]')) {
      var hidden = document.createElement("input");
      hidden.type = "hidden"; hidden.name = "photo"; hidden.value = info.upload;
      card.appendChild(hidden);
    }
    var said = info.report.duplicate ? "already in the store: remove it"
      : failed.length ? failed.length + " check(s) failed: retake the photo, or accept it with a reason"
      : "capture checks passed";
    setState(card, failed.length || info.report.duplicate ? "failed" : "passed", said);
    announce(name + ": " + said + (ul.textContent ? ". " + Array.prototype.map.call(ul.children, function (li) {
      return li.textContent; }).join(". ") : ""));
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
    if (!card.isConnected) { return; }  /* removed meanwhile */
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

  /* the file sent with its progress; a refusal of the app is "refused", a connection that
     failed is "unsent", with a button to send it again (the card and its view stay) */
  function send(card, file) {
    var view = cardView(card), xhr = new XMLHttpRequest(), progress = card.querySelector(".upload-progress");
    progress.value = 0;
    setState(card, "uploading", "uploading…");
    xhr.open("POST", "/uploads");
    xhr.setRequestHeader("X-CSRF-Token", csrf);
    xhr.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable || card.getAttribute("data-state") !== "uploading") { return; }
      progress.value = Math.round(100 * e.loaded / e.total);
      card.querySelector(".state").textContent = "uploading… " + progress.value + " %";
    });
    xhr.addEventListener("load", function () {
      var body; try { body = JSON.parse(xhr.responseText); } catch (e) { body = {error: xhr.responseText}; }
      if (xhr.status !== 200) { showChecks(card, {error: body.error || ("the app answered " + xhr.status)}); return; }
      card.setAttribute("data-upload", body.upload);
      card.querySelector(".view-input").name = "view_" + body.upload;
      card.querySelector(".accept-reason").name = "accept_" + body.upload;
      card.querySelector(".scale-input").name = "scale_" + body.upload;
      setState(card, "checking", "checking…");
      waitFor(card, body);
    });
    xhr.addEventListener("error", function () {
      setState(card, "unsent", file.name + " was not uploaded (the connection to the app failed): try again");
    });
    var data = new FormData();
    data.append("file", file); data.append("view", view); data.append("patient", patient);
    xhr.send(data);
  }

  /* the views of the photos chosen together: the view typed, or when a photo of the page has
     it, the next face view not taken yet (front, left-45, right-45); each card's view can be
     changed until filing */
  function viewsFor(n) {
    var taken = cards().map(cardView), first = nextView.value.trim() || "front", out = [];
    for (var i = 0; i < n; i += 1) {
      var v = first;
      if (taken.indexOf(v) >= 0 && FACE_VIEWS.indexOf(first) >= 0) {
        v = FACE_VIEWS.filter(function (f) { return taken.indexOf(f) < 0; })[0] || first;
      }
      taken.push(v); out.push(v);
    }
    return out;
  }

  function discard(card) {
    var uid = card.getAttribute("data-upload");
    if (uid) {  /* the server deletes the staged file */
      return fetch("/uploads/" + uid + "/discard", {method: "POST", body: "", credentials: "same-origin",
                                                    keepalive: true, headers: {"X-CSRF-Token": csrf}});
    }
    return Promise.resolve();
  }

  function addCard(file, view) {
    var card = tpl.content.firstElementChild.cloneNode(true), id = "card-" + (serial += 1);
    card.id = id;
    card.querySelector(".name").textContent = file.name;
    var viewInput = card.querySelector(".view-input");
    viewInput.value = view;
    viewInput.setAttribute("aria-label", "View of " + file.name);
    card.querySelector(".checks").id = id + "-checks";
    card.querySelector(".state").id = id + "-state";
    card.querySelector(".same-view").id = id + "-view-note";
    viewInput.setAttribute("aria-describedby", id + "-view-note");
    card.querySelector(".accept-reason").setAttribute("aria-describedby", id + "-checks");
    card.querySelector(".scale-input").setAttribute("aria-label", "Scale of " + file.name +
      ", px per mm of the file (optional; a trichoscopy photo needs it)");
    card.querySelector(".discard").setAttribute("aria-label", "Remove " + file.name);
    card.querySelector(".discard").setAttribute("aria-describedby", id + "-state");
    card.querySelector(".retry").setAttribute("aria-label", "Try again to upload " + file.name);
    list.appendChild(card);
    viewInput.addEventListener("input", checkViews);
    viewInput.addEventListener("change", function () {
      if (card.getAttribute("data-upload") && card.getAttribute("data-state") !== "refused") {
        card.querySelector(".state").textContent += " (the checks run again for the view " + cardView(card) + " when the session is filed)";
      }
    });
    card.querySelector(".retry").addEventListener("click", function () {
      send(card, file); card.querySelector(".discard").focus();
    });
    card.querySelector(".discard").addEventListener("click", function () {
      var next = card.nextElementSibling || card.previousElementSibling;
      discard(card);
      card.remove();
      checkViews();
      announce(file.name + " removed");
      (next ? next.querySelector(".view-input") : document.getElementById("file-input")).focus();
    });
    checkViews();
    send(card, file);
  }

  function take(files) {
    var views = viewsFor(files.length);
    Array.prototype.forEach.call(files, function (f, i) { addCard(f, views[i]); });
  }

  /* filing: posted from the page, so that a refusal (a failed check without a reason, another
     person, a duplicate) is shown here and the photos stay on the page. Refused at once while a
     photo is not checked yet, or a card is refused or unsent: never filed without it silently */
  var formError = document.getElementById("form-error");
  function refused(text) {
    var button = document.getElementById("file-session");
    formError.textContent = text;
    formError.hidden = false;
    button.disabled = false; button.textContent = "File the session";
    formError.scrollIntoView({block: "center"});
    formError.focus();
  }
  function notReady() {
    var waiting = [], bad = [];
    cards().forEach(function (card) {
      var st = card.getAttribute("data-state");
      if (st === "uploading" || st === "checking") { waiting.push(cardName(card)); }
      if (st === "refused" || st === "unsent") { bad.push(cardName(card)); }
    });
    var say = [];
    if (waiting.length) { say.push("wait for the checks of " + waiting.join(", ")); }
    if (bad.length) {
      say.push(bad.join(", ") + (bad.length > 1 ? " are" : " is") +
               " not uploaded or refused: remove " + (bad.length > 1 ? "them" : "it") + " (or try again)");
    }
    return say.length ? "Not filed: " + say.join("; ") + "." : null;
  }
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    formError.hidden = true;
    var problem = notReady();
    if (problem) { refused(problem); return; }
    var button = document.getElementById("file-session");
    button.disabled = true; button.textContent = "Filing the session…";
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
      .catch(function () { refused("the app did not answer (the connection failed): nothing was filed; try again"); });
  });

  /* Cancel: the photos staged for this page are deleted on the server, then the patient */
  var cancel = document.getElementById("cancel-session");
  cancel.addEventListener("click", function (ev) {
    ev.preventDefault();
    Promise.all(cards().map(discard)).catch(function () { return null; }).then(function () {
      window.location.assign(cancel.href);
    });
  });

  var input = document.getElementById("file-input"), drop = document.getElementById("drop");
  function takeChosen() { take(input.files); input.value = ""; }
  input.addEventListener("change", takeChosen);
  if (input.files.length) { takeChosen(); }  /* chosen before this script ran (a slow load) */
  drop.addEventListener("dragover", function (ev) { ev.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", function () { drop.classList.remove("over"); });
  drop.addEventListener("drop", function (ev) {
    ev.preventDefault(); drop.classList.remove("over");
    take(ev.dataTransfer.files);
  });
})();
