// The secretary's live queue: list refreshed by Server-Sent Events, claim, summary, release, close, presence.
// Plain modern JS, no build step; every piece of data goes in through textContent (never innerHTML).
"use strict";

(() => {
  const meta = (name) => document.querySelector(`meta[name="${name}"]`).content;
  const CSRF = meta("csrf-token");
  const CAN_TAKE = meta("can-take") === "1";
  const LEVELS = { emergency: t("Urgence vitale"), urgent: t("Urgent"), routine: t("Non urgent") };
  const SPEAKERS = { caller: t("Appelant"), agent: t("Agent"), secretary: t("Secrétaire") };
  const LOCALE = currentLanguage() === "en" ? "en-GB" : "fr-FR";
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
        if (!ok) { notice(data.detail || t("La file n'a pas pu être chargée."), true); break; }
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
    fill($("waiting"), view.waiting, (item) => ticketRow(item, true), t("Aucun appel en attente."));
    fill($("held"), view.held, (item) => ticketRow(item, false), t("Aucun appel pris."));
    fill($("callbacks"), view.callbacks, callbackRow, t("Aucun rappel à faire."));
    tick();
  }

  function fill(list, items, row, emptyText) {
    list.replaceChildren(...(items.length ? items.map(row) : [el("li", { class: "empty" }, emptyText)]));
  }

  function ticketRow(ticket, waiting) {
    const li = el("li", { class: `level-${ticket.level}${ticket.sla_breached ? " sla" : ""}`, "data-id": ticket.id, "data-level": ticket.level });
    const badge = el("span", { class: `badge ${ticket.level}` }, LEVELS[ticket.level] || ticket.level);
    const what = el("div", {},
      el("div", { class: "reason" }, ticket.reason || t("Motif non précisé")),
      el("div", { class: "muted" }, [ticket.practice_name, ticket.caller_number].filter(Boolean).join(" — ")),
      el("div", { class: "wait", "data-created": ticket.created_at }, ""));
    const buttons = el("div", {});
    if (waiting && CAN_TAKE) buttons.append(el("button", { type: "button", class: "claim", onclick: () => claim(ticket.id) }, t("Prendre")));
    buttons.append(el("button", { type: "button", class: "secondary open", onclick: () => openTicket(ticket.id) }, waiting ? t("Voir") : t("Ouvrir")));
    li.append(el("div", {}, badge, ticket.sla_breached ? el("div", { class: "muted" }, t("attente dépassée")) : ""), what, buttons);
    return li;
  }

  function callbackRow(c) {
    const when = c.callback_due ? new Date(c.callback_due).toLocaleString(LOCALE, { dateStyle: "short", timeStyle: "short" }) : "";
    const due = when ? t("à rappeler avant {when}", { when }) : t("à rappeler");
    return el("li", { class: `level-${c.level}`, "data-id": c.id },
      el("span", { class: `badge ${c.level}` }, LEVELS[c.level] || c.level),
      el("div", {}, el("div", { class: "reason" }, c.reason || t("Rappel")), el("div", { class: "muted" }, `${c.caller_number} — ${due}`)),
      el("div", {}, el("button", { type: "button", class: "secondary open", onclick: () => openTicket(c.id) }, t("Ouvrir"))));
  }

  function tick() {
    const now = Date.now() + clockOffsetMs;
    for (const node of document.querySelectorAll(".wait[data-created]")) {
      const seconds = Math.max(0, Math.floor((now - Date.parse(node.dataset.created)) / 1000));
      const minutes = Math.floor(seconds / 60);
      const padded = String(seconds % 60).padStart(2, "0");
      node.textContent = minutes ? t("attend depuis {minutes} min {seconds} s", { minutes, seconds: padded })
        : t("attend depuis {seconds} s", { seconds: padded });
    }
  }

  // --- one ticket ---------------------------------------------------------------------------------------

  async function claim(id) {
    const { ok, status, data } = await api("POST", `/api/tickets/${encodeURIComponent(id)}/claim`);
    if (ok) { notice(t("Appel pris.")); await openTicket(id); }
    else notice(data.detail || t("Échec ({status}).", { status }), true);
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
    if (!ok) { notice(data.detail || t("Ticket introuvable."), true); return; }
    showDetail(data);
  }

  function showDetail(ticket) {
    const s = ticket.summary;
    $("detail-empty").hidden = true;
    $("detail-body").hidden = false;
    $("detail").dataset.id = ticket.id;
    $("d-level").className = `badge ${s.level}`;
    $("d-level").textContent = LEVELS[s.level] || s.level;
    $("d-reason").textContent = s.reason;
    const born = s.caller.birth_date ? t("né(e) le {date}", { date: new Date(s.caller.birth_date).toLocaleDateString(LOCALE) }) : "";
    $("d-caller").textContent = [s.caller.name || t("Nom non donné"), s.caller.number, born].filter(Boolean).join(", ");
    $("d-practice").textContent = [s.practice_name, s.practitioner_name].filter(Boolean).join(" — ") || "—";
    $("d-rules").replaceChildren(...(s.rules.length ? s.rules.map((r) => el("li", {},
      t("{rule} ({level}) :", { rule: r.label || r.id, level: LEVELS[r.level] || r.level }), " ",
      el("span", { class: "evidence" }, t("« {evidence} »", { evidence: r.evidence })))) : [el("li", {}, t("aucun"))]));
    $("d-actions").replaceChildren(...(s.actions.length ? s.actions.map((a) => el("li", {}, a.text)) : [el("li", {}, t("rien"))]));
    $("d-next").textContent = s.next_step;
    const live = window.PermanenceHandoff && window.PermanenceHandoff.active;  // lines arrive over the call
    if (!live) $("d-transcript").replaceChildren(...s.transcript.map((line) => el("p", {},
      el("span", { class: "who" }, t("{speaker} :", { speaker: SPEAKERS[line.speaker] || line.speaker })), line.text)));
    const open = ["queued", "offered"].includes(ticket.status);
    const held = ticket.mine && ["claimed", "connected"].includes(ticket.status);
    const callback = ticket.status === "callback";
    $("d-claim").hidden = !(CAN_TAKE && open);
    $("d-release").hidden = !held;
    $("close-form").hidden = !(CAN_TAKE && (held || callback));
    if (window.PermanenceHandoff) window.PermanenceHandoff.onDetail(ticket);  // "Prendre l'appel" (handoff.js)
  }

  async function release() {
    if (!selected) return;
    const { ok, data } = await api("POST", `/api/tickets/${encodeURIComponent(selected)}/release`);
    notice(ok ? t("Appel remis dans la file.") : data.detail || t("Échec."), !ok);
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
      notice(t("Ticket clos."));
      $("note").value = "";
      selected = null;
      $("detail-body").hidden = true;
      $("detail-empty").hidden = false;
    } else notice(data.detail || t("Échec."), true);
    refresh();
  }

  // --- presence and the live stream ---------------------------------------------------------------------

  async function heartbeat() {
    if (!CAN_TAKE) return;
    await api("POST", "/api/presence", { status: $("presence").value }).catch(() => undefined);
  }

  function connect() {
    const source = new EventSource("/api/events");
    source.onopen = () => { $("live").className = "live ok"; $("live").textContent = t("En direct"); refresh(); };
    source.onerror = () => { $("live").className = "live down"; $("live").textContent = t("Reconnexion…"); };
    source.onmessage = (message) => {
      const event = JSON.parse(message.data);
      if (event.type === "queued" && event.level === "emergency") notice(t("Nouvel appel : urgence vitale !"), true);
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
