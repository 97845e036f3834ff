// The secretary takes the call in the browser: her microphone → AudioWorklet → 8 kHz μ-law over
// /ws/handoff/{ticket}; the caller's audio back through a jitter-buffered playback worklet; hold, resume,
// hang up; the live transcript (caller and secretary) pushed over the same socket. Plain JS, no build step.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const meta = (name) => document.querySelector(`meta[name="${name}"]`).content;
  const SPEAKERS = { caller: t("Appelant"), agent: t("Agent"), secretary: t("Secrétaire") };
  const STATES = { connecting: t("Connexion à l'appelant…"), connected: t("En ligne avec l'appelant"),
    hold: t("Appelant en attente"), ended: t("Appel terminé") };

  // What the page measured (read by tests and the level meter): frames sent and received, playback level.
  const stats = { sent: 0, received: 0, level: 0, maxLevel: 0, state: "idle", transcript: 0 };
  let detail = null;   // the ticket shown in the summary panel
  let call = null;     // the call in progress, if any
  const ended = new Set();  // tickets whose call is over (nothing left to take)

  function status(state) {
    stats.state = state;
    const node = $("handoff-status");
    node.textContent = STATES[state] || "";
    node.dataset.state = state;
    buttons();
  }

  function buttons() {
    const held = detail && detail.mine && ["claimed", "connected"].includes(detail.status);
    const here = call && detail && call.ticket === detail.id;
    $("d-take").hidden = !(held && !call && !ended.has(detail.id) && meta("can-take") === "1");
    $("handoff-bar").hidden = !here;
    if (here) $("d-release").hidden = true;  // on the line: hang up first, then close or re-queue
    $("d-hold").hidden = !(here && stats.state === "connected");
    $("d-resume").hidden = !(here && stats.state === "hold");
  }

  function line(speaker, text) {
    const box = $("d-transcript");
    const p = document.createElement("p");
    p.className = `streamed ${speaker}`;
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = t("{speaker} :", { speaker: SPEAKERS[speaker] || speaker });
    p.append(who, document.createTextNode(text));
    box.append(p);
    box.scrollTop = box.scrollHeight;
    stats.transcript += 1;
  }

  function micError(err) {
    const name = err && err.name;
    if (name === "NotAllowedError" || name === "SecurityError") return t("Accès au micro refusé : autorisez-le pour parler à l'appelant.");
    if (name === "NotFoundError" || name === "OverconstrainedError") return t("Aucun micro n'a été trouvé sur ce poste.");
    return t("Le micro n'a pas pu être ouvert.");
  }

  async function take() {
    if (!detail || call) return;
    const ticket = detail.id;
    call = { ticket, muted: false, ws: null, ctx: null, stream: null, timer: null, room: null };
    status("connecting");
    if (await takeInRoom(ticket)) return;  // LiveKit mode; otherwise the embedded bridge below
    try {
      call.stream = await navigator.mediaDevices.getUserMedia({ audio: {
        echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 } });
      const Ctx = window.AudioContext || window.webkitAudioContext;
      call.ctx = new Ctx();
      await call.ctx.resume();
      await call.ctx.audioWorklet.addModule("/static/console/softphone/audio-core.js");
    } catch (err) {
      notice(err && err.name ? micError(err) : t("L'audio du navigateur n'a pas pu démarrer."));
      cleanup();
      return;
    }
    const ctx = call.ctx;
    const mic = ctx.createMediaStreamSource(call.stream);
    const capture = new AudioWorkletNode(ctx, "permanence-capture", { numberOfOutputs: 0 });
    const playback = new AudioWorkletNode(ctx, "permanence-playback", { numberOfInputs: 0, outputChannelCount: [1] });
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 1024;
    mic.connect(capture);
    playback.connect(analyser);
    analyser.connect(ctx.destination);
    call.mic = mic;

    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const url = `${scheme}://${location.host}/ws/handoff/${encodeURIComponent(ticket)}?csrf=${encodeURIComponent(meta("csrf-token"))}`;
    const ws = new WebSocket(url);
    ws.binaryType = "arraybuffer";
    call.ws = ws;
    const current = call;
    capture.port.onmessage = (ev) => {
      if (ws.readyState === WebSocket.OPEN && !current.muted) { ws.send(ev.data.frame); stats.sent += 1; }
    };
    ws.onmessage = (ev) => {
      if (ev.data instanceof ArrayBuffer) {
        playback.port.postMessage({ type: "audio", mulaw: new Uint8Array(ev.data) });
        stats.received += 1;
        return;
      }
      const event = JSON.parse(ev.data);
      if (event.type === "transcript") line(event.speaker, event.text);
      else if (event.type === "state") status(event.state);
    };
    ws.onclose = (ev) => {
      if (ev.code === 4404) notice(t("L'appelant n'est plus en ligne."));
      else if (ev.code === 1006 && stats.sent === 0) notice(t("La connexion à l'appel a été refusée."));
      if (stats.sent > 0) ended.add(current.ticket);
      status("ended");
      cleanup();
    };
    const samples = new Float32Array(analyser.fftSize);
    current.timer = setInterval(() => {
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const s of samples) sum += s * s;
      stats.level = Math.sqrt(sum / samples.length);
      stats.maxLevel = Math.max(stats.maxLevel, stats.level);
      $("handoff-meter").value = Math.min(1, stats.level * 4);
    }, 100);
  }

  // --- LiveKit mode: join the caller's room with the token the console mints ---------------------------------

  function loadScript(src) {
    if (window.LivekitClient) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = src;
      script.onload = resolve;
      script.onerror = reject;
      document.head.append(script);
    });
  }

  async function takeInRoom(ticket) {
    const response = await fetch(`/api/tickets/${encodeURIComponent(ticket)}/livekit-token`,
      { credentials: "same-origin", headers: { Accept: "application/json" } }).catch(() => null);
    if (!response || response.status === 404) return false;  // not a LiveKit call: the embedded bridge
    const current = call;
    if (!response.ok) {
      notice(t("La salle de l'appel n'est pas joignable (LiveKit)."));
      status("ended");
      cleanup();
      return true;
    }
    const grant = await response.json();
    try {
      await loadScript("/static/console/vendor/livekit-client-2.23.0.umd.js");
      const LK = window.LivekitClient;
      const room = new LK.Room({ adaptiveStream: false, dynacast: false });
      current.room = room;
      room.on(LK.RoomEvent.TrackSubscribed, (track) => {
        if (track.kind !== "audio") return;
        const element = track.attach();
        element.dataset.handoff = "caller";
        document.body.append(element);
        stats.received += 1;
      });
      room.on(LK.RoomEvent.Disconnected, () => { ended.add(ticket); status("ended"); cleanup(); });
      await room.connect(grant.url, grant.token);
      await room.localParticipant.setMicrophoneEnabled(true);
      stats.sent += 1;
      status("connected");
    } catch (err) {
      notice(t("Connexion à la salle de l'appel impossible (LiveKit)."));
      status("ended");
      cleanup();
    }
    return true;
  }

  function roomMicrophone(on) {
    if (call && call.room) {
      call.room.localParticipant.setMicrophoneEnabled(on).catch(() => undefined);
      status(on ? "connected" : "hold");
      return true;
    }
    return false;
  }

  function send(command) {
    if (call && call.ws && call.ws.readyState === WebSocket.OPEN) call.ws.send(JSON.stringify({ type: command }));
  }

  function hold() { if (call && !roomMicrophone(false)) { call.muted = true; send("hold"); } }
  function resume() { if (call && !roomMicrophone(true)) { call.muted = false; send("resume"); } }
  function hangup() {
    if (!call) return;
    if (call.room) { call.room.disconnect(); return; }
    send("hangup");
    const ws = call.ws;
    setTimeout(() => { if (ws && ws.readyState !== WebSocket.CLOSED) ws.close(1000); }, 1500);
  }

  function cleanup() {
    const ending = call;
    call = null;
    if (!ending) return;
    if (ending.timer) clearInterval(ending.timer);
    if (ending.stream) ending.stream.getTracks().forEach((track) => track.stop());
    if (ending.ctx) ending.ctx.close().catch(() => undefined);
    if (ending.room) ending.room.disconnect().catch(() => undefined);
    document.querySelectorAll("audio[data-handoff]").forEach((node) => node.remove());
    buttons();
  }

  function notice(text) {
    const node = $("notice");
    node.textContent = text;
    node.className = "warn";
  }

  window.PermanenceHandoff = {
    stats,
    get active() { return call !== null; },
    onDetail(ticket) {
      detail = ticket;
      buttons();
    },
  };

  document.addEventListener("DOMContentLoaded", () => {
    $("d-take").addEventListener("click", take);
    $("d-hold").addEventListener("click", hold);
    $("d-resume").addEventListener("click", resume);
    $("d-hangup").addEventListener("click", hangup);
    window.addEventListener("beforeunload", () => { if (call) send("hangup"); });
  });
})();
