// Thresholds editor: save a draft (errors next to each field), what-if replay, activation and roll-back.
// Every visible text goes through t() (i18n.js); the server sends its messages already in the reader's language.
"use strict";
(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const form = document.getElementById("thresholds-form");
  const practice = form.dataset.practice === "" ? null : Number(form.dataset.practice);
  let draftId = form.dataset.draft === "" ? null : Number(form.dataset.draft);
  const notice = document.getElementById("notice");
  const LEVELS = { emergency: t("Urgence vitale"), urgent: t("Urgent"), routine: t("Courant") };
  const ACTIONS = { advise_15: t("orienter vers le 15"), handoff: t("transfert à une secrétaire"),
                    callback: t("rappel"), self_service: t("traité par l'agent") };
  const english = currentLanguage() === "en";
  const LOCALE = english ? "en-GB" : "fr-FR";

  function quiet() { notice.hidden = true; notice.textContent = ""; }

  function say(text, kind) {
    notice.textContent = text;
    notice.className = "notice " + (kind || "ok");
    notice.hidden = false;
  }

  async function api(method, url, body) {
    const response = await fetch(url, {
      method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, "Accept": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    return { ok: response.ok, status: response.status, data };
  }

  function values() {
    const out = {};
    for (const input of form.querySelectorAll("[data-kind]")) {
      let value = input.value.trim();
      const kind = input.dataset.kind;
      if (kind === "bool") value = value === "true";
      else if (kind === "int" || kind === "float") {
        const number = Number(value.replace(",", "."));
        value = value === "" || Number.isNaN(number) ? value : number;
      }
      const path = input.name.split(".");
      let node = out;
      for (const key of path.slice(0, -1)) node = node[key] = node[key] || {};
      node[path[path.length - 1]] = value;
    }
    return out;
  }

  function clearErrors(scope) {
    for (const p of scope.querySelectorAll(".field-error")) p.textContent = "";
    for (const i of scope.querySelectorAll("[aria-invalid]")) i.removeAttribute("aria-invalid");
  }

  function showErrors(errors) {
    let first = null;
    for (const error of errors || []) {
      const id = "f-" + error.field.replace(/\./g, "-");
      const slot = document.getElementById(id + "-error") || document.getElementById("f-general-error");
      slot.textContent = (slot.textContent ? slot.textContent + " ; " : "") + error.message;
      const input = document.getElementById(id);
      if (input) { input.setAttribute("aria-invalid", "true"); first = first || input; }
      else if (error.field.indexOf(".") < 0) {
        const group = form.querySelector('[name^="' + error.field + '."]');
        if (group) { group.setAttribute("aria-invalid", "true"); first = first || group; }
      }
    }
    if (first) first.focus();
  }

  function refused(result) {
    const detail = result.data && result.data.detail;
    if (detail && detail.errors) { showErrors(detail.errors); return detail.message; }
    return typeof detail === "string" ? detail : t("Erreur {status}", { status: result.status });
  }

  async function saveDraft(announce) {
    clearErrors(form);
    const note = document.getElementById("note").value;
    let result = draftId === null
      ? await api("POST", "/api/manager/thresholds/drafts", { practice_id: practice, values: values(), note })
      : await api("PUT", "/api/manager/thresholds/drafts/" + draftId, { values: values(), note });
    if (!result.ok && result.status === 409) {  // that draft was activated meanwhile: start a new one
      result = await api("POST", "/api/manager/thresholds/drafts", { practice_id: practice, values: values(), note });
    }
    if (!result.ok) { say(refused(result), "error"); return false; }
    draftId = result.data.id;
    form.dataset.draft = String(draftId);
    document.getElementById("activate").disabled = false;
    const hint = document.getElementById("activate-hint");
    if (hint) hint.hidden = true;
    if (announce) {
      const version = result.data.version;
      say(t("Brouillon enregistré (version {version}). Rien n'est encore en vigueur.", { version }), "ok");
    }
    return true;
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    saveDraft(true);
  });

  // --- what-if replay ---------------------------------------------------------------------------------
  const pct = (x) => {  // French "12,5 %", English "12.5%"
    if (x === null || x === undefined) return "—";
    const number = (Math.round(x * 1000) / 10).toLocaleString(LOCALE);
    return english ? number + "%" : number + " %";
  };
  const num = (x) => x === null || x === undefined ? "—" : x.toLocaleString(LOCALE);
  const ROWS = [
    [t("Rejoués (appels enregistrés ; énoncés du jeu d'évaluation)"), (f) => num(f.total)],
    [t("Taux d'escalade (15, transfert ou rappel)"), (f) => pct(f.escalation_rate)],
    [t("Urgences vitales de référence"), (f) => num(f.emergencies)],
    [t("Urgences vitales reconnues"), (f) => num(f.emergencies_caught)],
    [t("Urgences vitales traitées comme courantes"), (f) => num(f.emergencies_as_routine)],
    [t("Sur-triage (niveau plus élevé que la référence)"), (f) => pct(f.over_triage_rate)],
    [t("Exactitude du niveau (cas étiquetés)"), (f) => pct(f.accuracy)],
  ];

  function cell(row, text) {
    const td = document.createElement("td");
    td.textContent = text;
    row.appendChild(td);
    return td;
  }

  function renderReplay(data) {
    const body = document.querySelector("#replay-table tbody");
    body.replaceChildren();
    for (const [label, get] of ROWS) {
      const tr = document.createElement("tr");
      const th = document.createElement("th");
      th.scope = "row";
      th.textContent = label;
      tr.appendChild(th);
      const figures = [data.recorded.active, data.recorded.draft, data.evaluation.active, data.evaluation.draft];
      const texts = figures.map(get);
      texts.forEach((text, i) => {
        const td = cell(tr, text);
        if (i % 2 === 1 && text !== texts[i - 1]) td.className = "diff";
      });
      body.appendChild(tr);
    }
    if (!data.evaluation_available) {
      for (const th of document.querySelectorAll("#replay-table thead th:nth-child(n+4)")) {
        th.textContent = t("Jeu d'évaluation (non installé sur ce serveur)");
      }
    }
    const list = document.getElementById("changed-list");
    list.replaceChildren();
    const items = [...data.recorded.changed.map((c) => ({ ...c, source: "call" })),
                   ...data.evaluation.changed.map((c) => ({ ...c, source: "eval" }))];
    for (const change of items) {
      const li = document.createElement("li");
      const what = document.createElement(change.call_id ? "a" : "span");
      if (change.call_id) what.href = "/manager/calls/" + encodeURIComponent(change.call_id);
      what.textContent = change.call_id ? t("Appel {id}", { id: change.call_id.slice(0, 8) })
        : t("Évaluation {id}", { id: change.id });
      li.appendChild(what);
      const text = document.createElement("q");
      text.textContent = change.text;
      li.append(" ", text, english ? ": " : " : ");
      const move = document.createElement("strong");
      move.textContent = LEVELS[change.active.level] + " (" + ACTIONS[change.active.action] + ") → " +
        LEVELS[change.draft.level] + " (" + ACTIONS[change.draft.action] + ")";
      li.appendChild(move);
      if (change.label) {
        li.append(" — " + (change.reviewed ? t("niveau retenu à la relecture : {level}", { level: LEVELS[change.label] })
          : t("référence : {level}", { level: LEVELS[change.label] })));
      }
      list.appendChild(li);
    }
    const shown = items.length;
    const total = data.recorded.changed_total + data.evaluation.changed_total;
    const counts = { calls: num(data.recorded.changed_calls),
                     evaluation: num(data.evaluation.changed_total), shown: num(shown) };
    document.getElementById("changed-count").textContent = total === 0 ? t("(aucun changement)")
      : shown < total
        ? t("({calls} appel(s) enregistré(s), {evaluation} énoncé(s) du jeu d'évaluation ; {shown} affichés)", counts)
        : t("({calls} appel(s) enregistré(s), {evaluation} énoncé(s) du jeu d'évaluation)", counts);
    document.getElementById("replay-result").hidden = false;
  }

  document.getElementById("replay-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const status = document.getElementById("replay-status");
    const button = document.getElementById("run-replay");
    button.disabled = true;
    status.textContent = t("Simulation en cours…");
    const started = performance.now();
    const result = await api("POST", "/api/manager/thresholds/replay", {
      practice_id: practice, values: values(),
      date_from: document.getElementById("replay-from").value || null,
      date_to: document.getElementById("replay-to").value || null,
    });
    button.disabled = false;
    if (!result.ok) { status.textContent = ""; say(refused(result), "error"); return; }
    quiet();
    const seconds = ((performance.now() - started) / 1000).toLocaleString(LOCALE, { maximumFractionDigits: 1 });
    const calls = num(result.data.recorded.calls);
    status.textContent = t("{calls} appel(s) rejoué(s) en {seconds} s.", { calls, seconds });
    renderReplay(result.data);
  });

  // --- activation and roll-back -----------------------------------------------------------------------
  document.getElementById("activate-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const reasonBox = document.getElementById("activate-reason");
    const error = document.getElementById("activate-reason-error");
    error.textContent = "";
    if (reasonBox.value.trim().length < 3) {
      error.textContent = t("Indiquez la raison du changement (3 caractères au moins).");
      reasonBox.setAttribute("aria-invalid", "true");
      reasonBox.focus();
      return;
    }
    if (!(await saveDraft(false))) return;  // what is in the form is what goes into force
    const result = await api("POST", "/api/manager/thresholds/" + draftId + "/activate", { reason: reasonBox.value });
    if (!result.ok) { say(refused(result), "error"); return; }
    window.location.assign(window.location.pathname + window.location.search + (window.location.search ? "&" : "?") +
      "activated=" + result.data.version);
  });

  const rollbackForm = document.getElementById("rollback-form");
  if (rollbackForm) {
    rollbackForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const reasonBox = document.getElementById("rollback-reason");
      const error = document.getElementById("rollback-reason-error");
      error.textContent = "";
      if (reasonBox.value.trim().length < 3) {
        error.textContent = t("Indiquez la raison du retour arrière (3 caractères au moins).");
        reasonBox.focus();
        return;
      }
      const version = Number(document.getElementById("rollback-version").value);
      const result = await api("POST", "/api/manager/thresholds/rollback",
        { practice_id: practice, to_version: version, reason: reasonBox.value });
      if (!result.ok) { say(refused(result), "error"); return; }
      window.location.assign(window.location.pathname + window.location.search);
    });
    for (const button of document.querySelectorAll("button.rollback")) {
      button.addEventListener("click", () => {
        document.getElementById("rollback-version").value = button.dataset.version;
        document.getElementById("rollback-reason").focus();
      });
    }
  }

  const activated = new URLSearchParams(window.location.search).get("activated");
  if (activated) {
    say(t("Version {version} en vigueur. Le changement est inscrit au journal.", { version: activated }), "ok");
  }
})();
