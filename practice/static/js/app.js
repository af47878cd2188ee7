// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";

  // Ask before a destructive action (forms marked data-confirm).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  // Sign-up (the form behind the emailed link): preselect the browser's own time zone in a
  // fresh form. A form shown again after a refusal keeps what was chosen.
  document.addEventListener("DOMContentLoaded", function () {
    var select = document.querySelector("select[data-browser-time-zone]");
    if (!select || select.value !== "UTC" || !window.Intl) return;
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && select.querySelector('option[value="' + zone + '"]')) select.value = zone;
  });
})();

// Copy a link with one tap; without JS the link sits in a read-only field to copy by hand.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-copy-target]").forEach(function (button) {
      var input = document.getElementById(button.getAttribute("data-copy-target"));
      var status = button.parentElement.querySelector("[data-copy-status]");
      button.hidden = false;
      button.addEventListener("click", function () {
        input.select();
        var done = function () { if (status) status.textContent = "Copied. Paste it into a private message to this partner."; };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(input.value).then(done, function () { document.execCommand("copy"); done(); });
        } else {
          document.execCommand("copy");
          done();
        }
      });
    });
  });
})();

// Homework: save as the partner types, keep a copy on the device while offline, never
// overwrite a partner's newer save (the server answers 409 with both versions).
(function () {
  "use strict";

  function snapshot(form) {
    var fields = {};
    new FormData(form).forEach(function (value, name) {
      if (name !== "csrf_token" && name !== "action" && name !== "version") fields[name] = value;
    });
    return fields;
  }

  // What a copy on the device may hold: never a safety answer (a shared phone must not
  // keep one, even for a moment).
  function onDevice(fields) {
    var kept = {};
    Object.keys(fields).forEach(function (name) {
      if (name.indexOf("safety-") !== 0) kept[name] = fields[name];
    });
    return kept;
  }

  // A save answers with what the server stored, as form fields. The page says "Saved" only
  // when every value it sent is among them: a field the server did not read, or read wrong,
  // is never reported as saved. A row of a list may come back renumbered (an empty row above
  // it is skipped), so a value is looked for in its own field whatever the row:
  // "proposals-2-agreement" is matched among the stored "proposals-#-agreement" values.
  function fieldOf(name) {
    return name.replace(/-\d+(?=-|$)/g, "-#");
  }

  function notStored(form, sent, stored) {
    var types = {};
    Array.prototype.forEach.call(form.elements, function (element) {
      if (element.name) types[fieldOf(element.name)] = element.type;
    });
    function normal(name, value) {
      value = String(value).replace(/\r\n?/g, "\n"); // forms send line breaks as CRLF
      if (types[fieldOf(name)] === "number" && value.trim() !== "" && isFinite(value)) {
        return String(Number(value)); // "045" minutes are stored as 45
      }
      return value;
    }
    var pool = {};
    Object.keys(stored && typeof stored === "object" ? stored : {}).forEach(function (name) {
      var key = fieldOf(name);
      (pool[key] = pool[key] || []).push(normal(name, stored[name]));
    });
    return Object.keys(sent).filter(function (name) {
      var value = normal(name, sent[name]);
      if (value === "") return false;
      var values = pool[fieldOf(name)] || [];
      var at = values.indexOf(value);
      if (at < 0) return true;
      values.splice(at, 1); // each stored value vouches for one value sent
      return false;
    });
  }

  function fill(form, fields) {
    Object.keys(fields).forEach(function (name) {
      var element = form.elements.namedItem(name);
      if (element && "value" in element) element.value = fields[name];
    });
  }

  function renderCoach(findings) {
    var list = document.querySelector("[data-coach-list]");
    if (!list || !findings) return;
    list.textContent = "";
    // What the coach looked for, from the page: finding nothing is not a verdict.
    var clean = list.getAttribute("data-coach-clean");
    if (!findings.length && clean) findings = [{ level: "ok", message: clean }];
    findings.forEach(function (finding) {
      var item = document.createElement("li");
      item.className = "coach__item coach__item--" + finding.level;
      if (finding.phrase) {
        var quote = document.createElement("q");
        quote.textContent = finding.phrase;
        item.appendChild(quote);
        item.appendChild(document.createTextNode(" — "));
      }
      item.appendChild(document.createTextNode(finding.message));
      if (finding.part) item.setAttribute("data-part", finding.part);
      list.appendChild(item);
    });
    placeBesideParts();
  }

  // On a phone the coach panel sits below the whole form: a copy of each note about one part
  // goes right under that part, where the partner is writing (CSS shows one or the other).
  function fieldFor(form, part) {
    while (part) {
      var field = form.querySelector('[data-part="' + part.replace(/["\\]/g, "") + '"]');
      if (field) return field;
      part = part.indexOf(".") < 0 ? "" : part.slice(0, part.lastIndexOf("."));
    }
    return null;
  }

  function placeBesideParts() {
    var form = document.querySelector("form[data-autosave]");
    var list = document.querySelector("[data-coach-list]");
    if (!form || !list) return;
    form.querySelectorAll("[data-coach-beside]").forEach(function (notes) { notes.remove(); });
    var old = list.querySelector(".coach__item--summary");
    if (old) old.remove();
    var placed = 0;
    // Before a word is written, "this part is missing" under every box only repeats the hints.
    var blank = Array.prototype.every.call(form.querySelectorAll("textarea"), function (box) {
      return !box.value.trim();
    });
    list.querySelectorAll("li[data-part]").forEach(function (item) {
      item.classList.remove("coach__item--placed");
      if (blank && item.classList.contains("coach__item--missing")) return;
      var field = fieldFor(form, item.getAttribute("data-part"));
      if (!field) return;
      var notes = field.querySelector(":scope > [data-coach-beside]");
      if (!notes) {
        notes = document.createElement("ul");
        notes.className = "coach-beside";
        notes.setAttribute("data-coach-beside", "");
        field.appendChild(notes);
      }
      notes.appendChild(item.cloneNode(true));
      item.classList.add("coach__item--placed");
      placed += 1;
    });
    if (placed) {
      var summary = document.createElement("li");
      summary.className = "coach__item coach__item--summary";
      summary.textContent = placed === 1 ? "One note, shown under the part it is about." :
        placed + " notes, each shown under the part it is about.";
      list.appendChild(summary);
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form[data-autosave]");
    if (!form || !window.fetch || !window.FormData) return;
    var url = form.getAttribute("data-autosave");
    var key = form.getAttribute("data-draft-key");
    var state = form.querySelector("[data-save-state]");
    var version = form.querySelector("[data-version]");
    var timer = null;
    var inflight = false;
    var again = false;
    placeBesideParts();

    function say(text, error) {
      state.textContent = text;
      state.classList.toggle("save-state--error", !!error);
    }
    function keepLocal() {
      try {
        localStorage.setItem(key, JSON.stringify({ fields: onDevice(snapshot(form)), version: version.value }));
      } catch (e) { /* private mode or full: the server copy still counts */ }
    }
    function clearLocal() {
      try { localStorage.removeItem(key); } catch (e) { /* nothing kept */ }
    }
    function showConflict(html) {
      var panel = document.querySelector("[data-conflict]");
      if (!panel) {
        panel = document.createElement("section");
        panel.className = "card card--warn";
        panel.setAttribute("role", "alert");
        panel.setAttribute("data-conflict", "");
        form.parentNode.parentNode.insertBefore(panel, form.parentNode);
      }
      panel.innerHTML = "<h2>Your partner saved a newer version</h2><p>Nothing is lost: " +
        "their version is here, and what you typed is still in the form. Combine the two, " +
        "and your next change is saved over theirs.</p><div class='conflict-theirs'>" + html + "</div>";
    }
    function save() {
      if (inflight) { again = true; return; }
      inflight = true;
      say("Saving…");
      var sent = snapshot(form);
      var body = new FormData(form);
      body.delete("action");
      fetch(url, { method: "POST", body: body, credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          // Not JSON: the portal session ended (redirected to "signed out") or a proxy answered.
          if ((response.headers.get("Content-Type") || "").indexOf("application/json") !== 0) {
            return { status: response.redirected ? 401 : response.status, data: null };
          }
          return response.json().then(function (data) { return { status: response.status, data: data }; });
        })
        .then(function (result) {
          inflight = false;
          if (result.status === 200 && notStored(form, sent, result.data.stored).length) {
            version.value = result.data.version;
            keepLocal();
            say("Not everything you typed could be saved. It is kept on this device; please tell your therapist.", true);
          } else if (result.status === 200 && JSON.stringify(snapshot(form)) !== JSON.stringify(sent)) {
            // Stored what was sent, but the partner typed more since: that is not saved yet.
            version.value = result.data.version;
            keepLocal();
            say("Saving…");
            renderCoach(result.data.findings);
            again = true;
          } else if (result.status === 200) {
            version.value = result.data.version;
            clearLocal();
            say("Saved at " + new Date(result.data.saved_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }));
            renderCoach(result.data.findings);
          } else if (result.status === 409 && result.data.conflict) {
            keepLocal();
            version.value = result.data.version;
            showConflict(result.data.theirs);
            say("Not saved yet: your partner saved a newer version (see above).", true);
          } else if (result.status === 401) {
            keepLocal();
            say("Not saved: you are signed out. What you typed is kept on this device; open your personal link again to save it.", true);
          } else {
            keepLocal();
            say((result.data && result.data.message) || "Not saved. What you typed is kept on this device.", true);
          }
          if (again) { again = false; schedule(); }
        })
        .catch(function () {
          inflight = false;
          keepLocal();
          say("You seem to be offline. What you type is kept on this device and saved when you are back.", true);
        });
    }
    function schedule() {
      clearTimeout(timer);
      timer = setTimeout(save, 1200);
    }

    try {
      var kept = JSON.parse(localStorage.getItem(key) || "null");
      if (kept && JSON.stringify(kept.fields) === JSON.stringify(onDevice(snapshot(form)))) {
        clearLocal(); // the server has exactly this: nothing to keep on the device
      } else if (kept) {
        fill(form, kept.fields);
        version.value = kept.version; // saving from the old base: a newer save shows as a conflict
        say("Restored what you typed on this device earlier. Saving…");
        schedule();
      }
    } catch (e) { /* a broken copy is ignored */ }

    form.addEventListener("input", function () { keepLocal(); say("Editing…"); schedule(); });
    form.addEventListener("change", function () { keepLocal(); schedule(); });
    form.addEventListener("submit", function () { clearTimeout(timer); keepLocal(); });
    window.addEventListener("online", save);
  });

  // Work handed in needs no copy on the device.
  document.addEventListener("DOMContentLoaded", function () {
    var marker = document.querySelector("[data-handed-in]");
    if (!marker) return;
    marker.getAttribute("data-handed-in").split(" ").forEach(function (id) {
      try { if (id) localStorage.removeItem("practice-draft-" + id); } catch (e) { /* none */ }
    });
  });

  // Signing out on a shared device leaves no draft text behind, and neither does the quick
  // exit (cleared as it leaves: its next page is another website).
  function clearDrafts() {
    try {
      Object.keys(localStorage).forEach(function (name) {
        if (name.indexOf("practice-draft-") === 0) localStorage.removeItem(name);
      });
    } catch (e) { /* nothing kept */ }
  }
  document.addEventListener("DOMContentLoaded", function () {
    if (document.querySelector("[data-clear-drafts]")) clearDrafts();
  });
  document.addEventListener("submit", function (event) {
    if (event.target.hasAttribute && event.target.hasAttribute("data-clear-drafts-on-submit")) {
      clearDrafts();
    }
  }, true);
})();

// Portal with a PIN: after the idle time with no touch or key, reload; the server then shows
// the lock screen instead of leaving the last page on show. Typed text is saved or kept first.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var seconds = parseInt(document.body.getAttribute("data-lock-after") || "", 10);
    if (!seconds) return;
    var timer = null;
    function restart() {
      clearTimeout(timer);
      timer = setTimeout(function () { window.location.reload(); }, (seconds + 5) * 1000);
    }
    ["keydown", "pointerdown", "input", "scroll"].forEach(function (name) {
      document.addEventListener(name, restart, { passive: true });
    });
    restart();
  });
})();

// A job's progress bar: ask its status URL every second or so, move the bar and name the
// stage; when the work ends (done or failed), reload so the page shows the download or what
// went wrong. Without JavaScript the page refreshes itself instead (a <noscript> refresh).
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.querySelector("[data-progress-url]");
    if (!box || !window.fetch) return;
    var url = box.getAttribute("data-progress-url");
    var bar = box.querySelector("[data-progress-bar]");
    var label = box.querySelector("[data-progress-label]");
    var delay = 700;
    function mark(stage) {
      var passed = true;
      box.querySelectorAll("[data-stage]").forEach(function (item) {
        var current = item.getAttribute("data-stage") === stage;
        if (current) passed = false;
        item.classList.toggle("is-current", current);
        item.classList.toggle("is-done", passed && !current && stage !== "waiting");
        if (current) item.setAttribute("aria-current", "step"); else item.removeAttribute("aria-current");
      });
    }
    function poll() {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (state) {
          if (!state) { setTimeout(poll, 3000); return; }
          if (state.state === "done" || state.state === "failed" || state.finished) {
            window.location.reload();
            return;
          }
          if (bar) { bar.value = state.percent; bar.textContent = state.percent + " %"; }
          if (label && state.label) label.textContent = state.label;
          if (label && state.total !== undefined) label.textContent = state.done + " of " + state.total + " made";
          if (state.stage) mark(state.stage);
          delay = Math.min(delay * 1.15, 2500);
          setTimeout(poll, delay);
        })
        .catch(function () { setTimeout(poll, 3000); });
    }
    setTimeout(poll, delay);
  });
})();
