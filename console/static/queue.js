// The secretary's live queue: list refreshed by Server-Sent Events, claim, summary, release, close, presence.
// Plain modern JS, no build step; every piece of data goes in through textContent (never innerHTML).
"use strict";

(() => {
  const meta = (name) => document.querySelector(`meta[name="${name}"]`).content;
  const CSRF = meta("csrf-token");
  const CAN_TAKE = meta("can-take") === "1";
  const LEVEL_FR = { emergency: "Urgence vitale", urgent: "Urgent", routine: "Non urgent" };
  const SPEAKER_FR = { caller: "Appelant", agent: "Agent", secretary: "Secrétaire" };
  const $ = (id) => document.getElementById(id);

  let clockOffsetMs = 0;      // server time − browser time
  let selected = null;        // id of the ticket shown on the right
  let refreshing = false;
  let dirty = false;
  let lastView = null;

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (key === "class") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value);
    }
    for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    return node;
  }

  async function api(method, path, body) {
    const init = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
    if (method !== "GET") {
      init.headers["X-CSRF-Token"] = CSRF;
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body || {});
    }
    const response = await fetch(path, init);
    if (response.status === 401) { window.location.assign("/login?next=/queue"); throw new Error("401"); }
    const data = await response.json().catch(() => ({}));
    return { ok: response.ok, status: response.status, data };
  }

  function notice(text, warn = false) {
    const node = $("notice");
    node.textContent = text;
    node.className = warn ? "warn" : "";
    if (text) setTimeout(() => { if (node.textContent === text) node.textContent = ""; }, 8000);
  }

  // --- the lists --------------------------------------------------------------------------------------

  async function refresh() {
    if (refreshing) { dirty = true; return; }
    refreshing = true;
    try {
      do {
        dirty = false;
        const { ok, data } = await api("GET", "/api/queue");
        if (!ok) { notice(data.detail || "La file n'a pas pu être chargée.", true); break; }
        clockOffsetMs = Date.parse(data.server_time) - Date.now();
        lastView = data;
        render(data);
      } while (dirty);
    } finally {
      refreshing = false;
    }
  }

  function render(view) {
    $("waiting-count").textContent = `(${view.waiting_total})`;
    fill($("waiting"), view.waiting, (t) => ticketRow(t, true), "Aucun appel en attente.");
    fill($("held"), view.held, (t) => ticketRow(t, false), "Aucun appel pris.");
    fill($("callbacks"), view.callbacks, callbackRow, "Aucun rappel à faire.");
    tick();
  }

  function fill(list, items, row, emptyText) {
    list.replaceChildren(...(items.length ? items.map(row) : [el("li", { class: "empty" }, emptyText)]));
  }

  function ticketRow(t, waiting) {
    const li = el("li", { class: `level-${t.level}${t.sla_breached ? " sla" : ""}`, "data-id": t.id, "data-level": t.level });
    const badge = el("span", { class: `badge ${t.level}` }, LEVEL_FR[t.level] || t.level);
    const what = el("div", {},
      el("div", { class: "reason" }, t.reason || "Motif non précisé"),
      el("div", { class: "muted" }, [t.practice_name, t.caller_number].filter(Boolean).join(" — ")),
      el("div", { class: "wait", "data-created": t.created_at }, ""));
    const buttons = el("div", {});
    if (waiting && CAN_TAKE) buttons.append(el("button", { type: "button", class: "claim", onclick: () => claim(t.id) }, "Prendre"));
    buttons.append(el("button", { type: "button", class: "secondary open", onclick: () => openTicket(t.id) }, waiting ? "Voir" : "Ouvrir"));
    li.append(el("div", {}, badge, t.sla_breached ? el("div", { class: "muted" }, "attente dépassée") : ""), what, buttons);
    return li;
  }

  function callbackRow(c) {
    const due = c.callback_due ? `à rappeler avant ${new Date(c.callback_due).toLocaleString("fr-FR", { dateStyle: "short", timeStyle: "short" })}` : "à rappeler";
    return el("li", { class: `level-${c.level}`, "data-id": c.id },
      el("span", { class: `badge ${c.level}` }, LEVEL_FR[c.level] || c.level),
      el("div", {}, el("div", { class: "reason" }, c.reason || "Rappel"), el("div", { class: "muted" }, `${c.caller_number} — ${due}`)),
      el("div", {}, el("button", { type: "button", class: "secondary open", onclick: () => openTicket(c.id) }, "Ouvrir")));
  }

  function tick() {
    const now = Date.now() + clockOffsetMs;
    for (const node of document.querySelectorAll(".wait[data-created]")) {
      const seconds = Math.max(0, Math.floor((now - Date.parse(node.dataset.created)) / 1000));
      const minutes = Math.floor(seconds / 60);
      node.textContent = `attend depuis ${minutes ? `${minutes} min ` : ""}${String(seconds % 60).padStart(2, "0")} s`;
    }
  }

  // --- one ticket ---------------------------------------------------------------------------------------

  async function claim(id) {
    const { ok, status, data } = await api("POST", `/api/tickets/${encodeURIComponent(id)}/claim`);
    if (ok) { notice("Appel pris."); await openTicket(id); }
    else notice(data.detail || `Échec (${status}).`, true);
    refresh();
  }

  async function openTicket(id) {
    selected = id;
    await reloadDetail(id);
    if (selected === id) $("detail").focus();  // keyboard and screen-reader users land on the summary
  }

  async function reloadDetail(id) {
    const { ok, data } = await api("GET", `/api/tickets/${encodeURIComponent(id)}`);
    if (selected !== id) return;  // closed or another ticket opened meanwhile
    if (!ok) { notice(data.detail || "Ticket introuvable.", true); return; }
    showDetail(data);
  }

  function showDetail(t) {
    const s = t.summary;
    $("detail-empty").hidden = true;
    $("detail-body").hidden = false;
    $("detail").dataset.id = t.id;
    $("d-level").className = `badge ${s.level}`;
    $("d-level").textContent = LEVEL_FR[s.level] || s.level;
    $("d-reason").textContent = s.reason;
    const born = s.caller.birth_date ? `né(e) le ${new Date(s.caller.birth_date).toLocaleDateString("fr-FR")}` : "";
    $("d-caller").textContent = [s.caller.name || "Nom non donné", s.caller.number, born].filter(Boolean).join(", ");
    $("d-practice").textContent = [s.practice_name, s.practitioner_name].filter(Boolean).join(" — ") || "—";
    $("d-rules").replaceChildren(...(s.rules.length ? s.rules.map((r) => el("li", {},
      `${r.label || r.id} (${LEVEL_FR[r.level] || r.level}) : `, el("span", { class: "evidence" }, `« ${r.evidence} »`))) : [el("li", {}, "aucun")]));
    $("d-actions").replaceChildren(...(s.actions.length ? s.actions.map((a) => el("li", {}, a.text)) : [el("li", {}, "rien")]));
    $("d-next").textContent = s.next_step;
    const live = window.PermanenceHandoff && window.PermanenceHandoff.active;  // lines arrive over the call
    if (!live) $("d-transcript").replaceChildren(...s.transcript.map((line) => el("p", {},
      el("span", { class: "who" }, `${SPEAKER_FR[line.speaker] || line.speaker} :`), line.text)));
    const open = ["queued", "offered"].includes(t.status);
    const held = t.mine && ["claimed", "connected"].includes(t.status);
    const callback = t.status === "callback";
    $("d-claim").hidden = !(CAN_TAKE && open);
    $("d-release").hidden = !held;
    $("close-form").hidden = !(CAN_TAKE && (held || callback));
    if (window.PermanenceHandoff) window.PermanenceHandoff.onDetail(t);  // "Prendre l'appel" (handoff.js)
  }

  async function release() {
    if (!selected) return;
    const { ok, data } = await api("POST", `/api/tickets/${encodeURIComponent(selected)}/release`);
    notice(ok ? "Appel remis dans la file." : data.detail || "Échec.", !ok);
    if (ok && selected) await reloadDetail(selected);
    refresh();
  }

  async function closeTicket(event) {
    event.preventDefault();
    if (!selected) return;
    const id = selected;
    const body = { disposition: $("disposition").value, note: $("note").value };
    const { ok, data } = await api("POST", `/api/tickets/${encodeURIComponent(id)}/close`, body);
    if (ok) {
      notice("Ticket clos.");
      $("note").value = "";
      selected = null;
      $("detail-body").hidden = true;
      $("detail-empty").hidden = false;
    } else notice(data.detail || "Échec.", true);
    refresh();
  }

  // --- presence and the live stream ---------------------------------------------------------------------

  async function heartbeat() {
    if (!CAN_TAKE) return;
    await api("POST", "/api/presence", { status: $("presence").value }).catch(() => undefined);
  }

  function connect() {
    const source = new EventSource("/api/events");
    source.onopen = () => { $("live").className = "live ok"; $("live").textContent = "En direct"; refresh(); };
    source.onerror = () => { $("live").className = "live down"; $("live").textContent = "Reconnexion…"; };
    source.onmessage = (message) => {
      const event = JSON.parse(message.data);
      if (event.type === "queued" && event.level === "emergency") notice("Nouvel appel : urgence vitale !", true);
      refresh();
      if (selected && event.ticket === selected) reloadDetail(selected);
    };
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("d-claim").addEventListener("click", () => selected && claim(selected));
    $("d-release").addEventListener("click", release);
    $("close-form").addEventListener("submit", closeTicket);
    if (CAN_TAKE) {
      $("presence").addEventListener("change", heartbeat);
      heartbeat();
      setInterval(heartbeat, 10000);
    }
    setInterval(tick, 1000);
    setInterval(() => { if (selected) reloadDetail(selected); }, 5000);  // live transcript while a ticket is open
    refresh();
    connect();
  });
})();
