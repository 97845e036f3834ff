/* The browser softphone: microphone → 8 kHz μ-law → Twilio Media Streams events on /media-stream, and back.
 *
 * Standards only (getUserMedia, Web Audio AudioWorklet with a ScriptProcessor fallback, WebSocket), no build
 * step: Chromium and Firefox. The server's optional `permanence.*` events (asked for in
 * start.customParameters) feed the live transcript, the triage decisions and the call state.
 */
(function () {
  'use strict';

  var Core = window.PermanenceAudio;
  var $ = function (id) { return document.getElementById(id); };

  var t = window.t;
  var MESSAGES = {
    insecure: t("Le micro n'est accessible que sur une page sécurisée : ouvrez le softphone en https:// " +
      'ou sur http://localhost.'),
    unsupported: t("Ce navigateur ne permet pas d'appeler depuis la page (Web Audio ou WebSocket indisponible). " +
      'Utilisez une version récente de Firefox ou de Chromium.'),
    denied: t("Accès au micro refusé. Autorisez le micro pour ce site (icône à gauche de l'adresse), " +
      'puis cliquez à nouveau sur « Appeler ».'),
    absent: t('Aucun micro détecté. Branchez un micro ou un casque, puis cliquez à nouveau sur « Appeler ».'),
    busy: t("Le micro est utilisé par une autre application ou n'a pas pu démarrer. Fermez-la, puis réessayez."),
    audio: t("Le son n'a pas pu démarrer dans ce navigateur. Rechargez la page et réessayez."),
    output: t("Le son ne démarre pas : aucune sortie audio (haut-parleur ou casque) n'est disponible."),
    unreachable: t("Impossible de joindre le serveur d'appels. Vérifiez que « permanence serve » tourne."),
  };
  var CLOSES = {
    1000: t('Appel terminé.'),
    1011: t("L'appel a été confié à une secrétaire : l'agent a rencontré un problème technique."),
    1013: t("L'agent est indisponible (modèles vocaux non chargés). Réessayez plus tard."),
  };
  var SPEAKERS = { caller: t('Vous'), agent: t('Agent'), dtmf: t('Touche') };
  var LEVELS = { emergency: t('Urgence vitale'), urgent: t('Urgent'), routine: t('Courant') };
  var ACTIONS = {
    advise_15: t('Appeler le 15'), handoff: t('Passer à une secrétaire'), callback: t('Rappel'),
    self_service: t("L'agent continue"),
  };
  var INTENTS = { book: t('prise de rendez-vous'), cancel: t('annulation'), reschedule: t('déplacement de rendez-vous'),
    confirm: t('confirmation'), info: t('renseignement'), prescription: t('ordonnance'), message: t('message'),
    human: t('demande à parler à quelqu\'un'), symptom: t('symptôme'), other: t('autre') };
  var AGENT_STATES = { speaking: t("L'agent parle…"), thinking: t("L'agent réfléchit…"),
    listening: t("L'agent vous écoute.") };
  var DTMF = { 1: [697, 1209], 2: [697, 1336], 3: [697, 1477], 4: [770, 1209], 5: [770, 1336], 6: [770, 1477],
    7: [852, 1209], 8: [852, 1336], 9: [852, 1477], '*': [941, 1209], 0: [941, 1336], '#': [941, 1477] };

  var call = null;
  var stats = { mediaIn: 0, mediaOut: 0, marksIn: 0, marksOut: 0, clears: 0, playedMs: 0, agentLevel: 0, micLevel: 0,
    transcript: 0, triage: 0 };
  window.permanenceSoftphone = { stats: stats };

  function setStatus(text) { $('status').textContent = text; }

  function showError(text) {
    var box = $('error');
    box.textContent = text;
    box.hidden = !text;
  }

  function micError(err) {
    var name = err && err.name;
    if (name === 'NotAllowedError' || name === 'SecurityError' || name === 'PermissionDeniedError') return MESSAGES.denied;
    if (name === 'NotFoundError' || name === 'DevicesNotFoundError' || name === 'OverconstrainedError') return MESSAGES.absent;
    return MESSAGES.busy;
  }

  function randomSid(prefix) {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return prefix + Array.prototype.map.call(bytes, function (b) { return ('0' + b.toString(16)).slice(-2); }).join('');
  }

  function toBase64(bytes) {
    var text = '';
    for (var i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
    return window.btoa(text);
  }

  function fromBase64(payload) {
    var text = window.atob(payload);
    var bytes = new Uint8Array(text.length);
    for (var i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    return bytes;
  }

  function setInCall(active) {
    $('call').disabled = active;
    $('hangup').disabled = !active;
    ['caller', 'practice', 'language'].forEach(function (id) { $(id).disabled = active; });
    Array.prototype.forEach.call(document.querySelectorAll('#keypad button'), function (b) { b.disabled = !active; });
  }

  // --- audio graph ---------------------------------------------------------------------------------------

  function Graph(ctx, micStream, handlers) {
    this.ctx = ctx;
    this.mic = ctx.createMediaStreamSource(micStream);
    this.handlers = handlers;
  }

  Graph.prototype.start = function () {
    var self = this;
    if (this.ctx.audioWorklet && typeof AudioWorkletNode === 'function') {
      return this.ctx.audioWorklet.addModule('/static/console/softphone/audio-core.js')
        .then(function () { self._worklets(); })
        .catch(function () { self._scriptProcessors(); });
    }
    this._scriptProcessors();
    return Promise.resolve();
  };

  Graph.prototype._worklets = function () {
    var h = this.handlers;
    this.capture = new AudioWorkletNode(this.ctx, 'permanence-capture', { numberOfOutputs: 0 });
    this.capture.port.onmessage = function (ev) { h.frame(ev.data.frame, ev.data.level); };
    this.playback = new AudioWorkletNode(this.ctx, 'permanence-playback',
      { numberOfInputs: 0, outputChannelCount: [1] });
    this.playback.port.onmessage = function (ev) { h.playback(ev.data); };
    this.mic.connect(this.capture);
    this.playback.connect(this.ctx.destination);
    var port = this.playback.port;
    this.send = function (msg) { port.postMessage(msg); };
  };

  Graph.prototype._scriptProcessors = function () {
    var h = this.handlers;
    var capture = new Core.CaptureCore(this.ctx.sampleRate, h.frame);
    var playback = new Core.PlaybackCore(this.ctx.sampleRate, h.playback);
    this.capture = this.ctx.createScriptProcessor(2048, 1, 1);
    this.capture.onaudioprocess = function (ev) {
      capture.push(ev.inputBuffer.getChannelData(0));
      ev.outputBuffer.getChannelData(0).fill(0);
    };
    this.playback = this.ctx.createScriptProcessor(1024, 1, 1);
    this.playback.onaudioprocess = function (ev) { playback.render(ev.outputBuffer.getChannelData(0)); };
    this.mic.connect(this.capture);
    this.capture.connect(this.ctx.destination); // a ScriptProcessor only runs when connected
    this.playback.connect(this.ctx.destination);
    this.send = function (msg) {
      if (msg.type === 'audio') playback.enqueueMulaw(msg.mulaw);
      else if (msg.type === 'mark') playback.mark(msg.name);
      else if (msg.type === 'clear') h.playback({ type: 'cleared', marks: playback.clear() });
    };
  };

  Graph.prototype.tone = function (digit) {
    var pair = DTMF[digit];
    if (!pair) return;
    var gain = this.ctx.createGain();
    gain.gain.value = 0.08;
    gain.connect(this.ctx.destination);
    var end = this.ctx.currentTime + 0.15;
    pair.forEach(function (freq) {
      var osc = this.ctx.createOscillator();
      osc.frequency.value = freq;
      osc.connect(gain);
      osc.start();
      osc.stop(end);
    }, this);
  };

  Graph.prototype.close = function () {
    try { this.mic.disconnect(); } catch (e) { /* already disconnected */ }
    return this.ctx.close();
  };

  // --- one call ------------------------------------------------------------------------------------------

  function Call(form) {
    this.params = {
      caller: form.caller.value.replace(/[^0-9+]/g, '').slice(0, 20),
      practice: form.practice.value,
      language: form.language.value,
      'permanence.events': 'transcript,triage,state',
      token: form.dataset.token || '',
    };
    this.streamSid = randomSid('MZ');
    this.callSid = randomSid('CA');
    this.sequence = 0;
    this.chunk = 0;
    this.open = false;
    this.ended = false;
  }

  Call.prototype.start = function () {
    var self = this;
    setStatus(t('Accès au micro…'));
    var constraints = { audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true,
      channelCount: 1 } };
    return navigator.mediaDevices.getUserMedia(constraints).then(function (stream) {
      self.stream = stream;
      var Ctx = window.AudioContext || window.webkitAudioContext;
      self.graph = new Graph(new Ctx(), stream, {
        frame: function (frame, level) { self.sendMedia(frame, level); },
        playback: function (event) { self.onPlayback(event); },
      });
      return withTimeout(self.graph.ctx.resume(), 5000, MESSAGES.output).then(function () {
        return self.graph.start();
      });
    }, function (err) {
      throw new CallError(micError(err));
    }).then(function () { self.connect(); });
  };

  function CallError(message) { this.message = message; }

  /** A promise that fails with `message` (shown to the user) if `promise` has not settled after `ms`. */
  function withTimeout(promise, ms, message) {
    return new Promise(function (resolve, reject) {
      var timer = window.setTimeout(function () { reject(new CallError(message)); }, ms);
      promise.then(function (value) { window.clearTimeout(timer); resolve(value); },
        function (err) { window.clearTimeout(timer); reject(err); });
    });
  }

  Call.prototype.connect = function () {
    var self = this;
    var scheme = window.location.protocol === 'https:' ? 'wss://' : 'ws://';
    setStatus(t('Connexion…'));
    this.ws = new WebSocket(scheme + window.location.host + '/media-stream');
    this.ws.onopen = function () { self.onOpen(); };
    this.ws.onmessage = function (ev) { self.onMessage(ev.data); };
    this.ws.onclose = function (ev) { self.finish(self.open ? (CLOSES[ev.code] || closeText(ev)) : MESSAGES.unreachable,
      !self.open || !CLOSES[ev.code]); };
  };

  function closeText(ev) {
    if (ev.code === 1008 && ev.reason === 'not authorised') {  // the page's token is older than a session
      return t("Appel refusé : cette page a expiré. Rechargez-la, puis appelez à nouveau.");
    }
    return ev.reason ? t('La communication a été interrompue (code {code} : {reason}).', { code: ev.code, reason: ev.reason })
      : t('La communication a été interrompue (code {code}).', { code: ev.code });
  }

  Call.prototype.send = function (message) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  };

  Call.prototype.next = function () { this.sequence += 1; return String(this.sequence); };

  Call.prototype.onOpen = function () {
    this.open = true;
    this.startedAt = Date.now();
    this.send({ event: 'connected', protocol: 'Call', version: '1.0.0' });
    this.send({ event: 'start', sequenceNumber: this.next(), streamSid: this.streamSid, start: {
      streamSid: this.streamSid, callSid: this.callSid, accountSid: 'softphone', tracks: ['inbound'],
      mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 }, customParameters: this.params,
    } });
    setStatus(t('En ligne.'));
    this.timer = window.setInterval(tick, 500);
    tick();
  };

  Call.prototype.sendMedia = function (frame, level) {
    stats.micLevel = level;
    if (!this.open || this.ended) return;
    this.chunk += 1;
    this.send({ event: 'media', sequenceNumber: this.next(), streamSid: this.streamSid, media: {
      track: 'inbound', chunk: String(this.chunk), timestamp: String((this.chunk - 1) * 20), payload: toBase64(frame),
    } });
    stats.mediaOut += 1;
  };

  Call.prototype.onMessage = function (raw) {
    var msg;
    try { msg = JSON.parse(raw); } catch (e) { return; }
    if (msg.event === 'media' && msg.media) {
      stats.mediaIn += 1;
      this.graph.send({ type: 'audio', mulaw: fromBase64(msg.media.payload) });
    } else if (msg.event === 'mark' && msg.mark) {
      this.graph.send({ type: 'mark', name: msg.mark.name });
    } else if (msg.event === 'clear') {
      stats.clears += 1;
      this.graph.send({ type: 'clear' });
    } else if (msg.event === 'permanence.transcript') {
      addTranscript(msg.transcript);
    } else if (msg.event === 'permanence.triage') {
      addTriage(msg.triage);
    } else if (msg.event === 'permanence.state') {
      showState(msg.state);
    }
  };

  Call.prototype.onPlayback = function (event) {
    if (event.type === 'mark') {
      this.ackMark(event.name);
    } else if (event.type === 'cleared') {
      event.marks.forEach(this.ackMark, this); // as a carrier does: cleared marks come back at once
    } else if (event.type === 'level') {
      stats.agentLevel = event.level;
      stats.playedMs = event.playedMs;
    }
  };

  Call.prototype.ackMark = function (name) {
    stats.marksOut += 1;
    this.send({ event: 'mark', sequenceNumber: this.next(), streamSid: this.streamSid, mark: { name: name } });
  };

  Call.prototype.dtmf = function (digit) {
    this.send({ event: 'dtmf', sequenceNumber: this.next(), streamSid: this.streamSid,
      dtmf: { track: 'inbound_track', digit: digit } });
    if (this.graph) this.graph.tone(digit);
  };

  Call.prototype.hangUp = function () {
    var self = this;
    if (!this.open) { this.finish(t('Appel annulé.'), false); return; }
    setStatus(t('Raccrochage…'));
    this.send({ event: 'stop', sequenceNumber: this.next(), streamSid: this.streamSid,
      stop: { accountSid: 'softphone', callSid: this.callSid } });
    window.setTimeout(function () { if (self.ws) self.ws.close(1000); }, 2000);
  };

  Call.prototype.finish = function (text, isError) {
    if (this.ended) return;
    this.ended = true;
    window.clearInterval(this.timer);
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) this.ws.close(1000);
    if (this.stream) this.stream.getTracks().forEach(function (track) { track.stop(); });
    if (this.graph) this.graph.close().catch(function () { /* closed */ });
    setInCall(false);
    setStatus(isError ? (this.startedAt ? t('Appel terminé.') : t('Appel impossible.')) : text);
    if (isError) showError(text);
    call = null;
  };

  // --- page ----------------------------------------------------------------------------------------------

  function tick() {
    if (!call || !call.startedAt) return;
    var s = Math.floor((Date.now() - call.startedAt) / 1000);
    $('timer').textContent = ('0' + Math.floor(s / 60)).slice(-2) + ':' + ('0' + (s % 60)).slice(-2);
  }

  function meters() {
    $('mic-level').value = Math.min(1, stats.micLevel * 4);
    $('agent-level').value = Math.min(1, stats.agentLevel * 4);
    var root = $('softphone');
    root.dataset.mediaIn = String(stats.mediaIn);
    root.dataset.playedMs = String(stats.playedMs);
    window.requestAnimationFrame(meters);
  }

  function addTranscript(turn) {
    if (!turn || !turn.text) return;
    stats.transcript += 1;
    var li = document.createElement('li');
    li.className = 'turn ' + turn.speaker;
    var who = document.createElement('strong');
    who.textContent = t('{speaker} :', { speaker: SPEAKERS[turn.speaker] || turn.speaker }) + ' ';
    li.appendChild(who);
    li.appendChild(document.createTextNode(turn.text));
    $('transcript').appendChild(li);
    li.scrollIntoView({ block: 'nearest' });
  }

  function addTriage(d) {
    if (!d) return;
    stats.triage += 1;
    var li = document.createElement('li');
    li.className = 'decision ' + d.level;
    var head = document.createElement('strong');
    head.textContent = (LEVELS[d.level] || d.level) + ' — ' + (ACTIONS[d.action] || d.action) +
      (d.escalated ? ' ' + t('(appel escaladé vers une secrétaire)') : '');
    li.appendChild(head);
    if (d.intent) li.appendChild(document.createTextNode(' · ' + (INTENTS[d.intent] || d.intent)));
    if (d.rules && d.rules.length) {
      var ul = document.createElement('ul');
      d.rules.forEach(function (rule) {
        var item = document.createElement('li');
        item.textContent = rule.evidence ? t('{rule} : « {evidence} »', { rule: rule.label, evidence: rule.evidence })
          : rule.label;
        ul.appendChild(item);
      });
      li.appendChild(ul);
    }
    $('triage').appendChild(li);
  }

  function showState(state) {
    if (state && state.agent && AGENT_STATES[state.agent]) setStatus(AGENT_STATES[state.agent]);
    else if (state && state.user === 'speaking') setStatus(t('Vous parlez…'));
  }

  function startCall(ev) {
    ev.preventDefault();
    showError('');
    if (call) return;
    if (!window.isSecureContext) { showError(MESSAGES.insecure); return; }
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) { showError(MESSAGES.absent); return; }
    if (!(window.AudioContext || window.webkitAudioContext) || !window.WebSocket || !Core) {
      showError(MESSAGES.unsupported);
      return;
    }
    $('transcript').textContent = '';
    $('triage').textContent = '';
    $('timer').textContent = '00:00';
    call = new Call(ev.target);
    setInCall(true);
    var current = call;
    current.start().catch(function (err) {
      current.finish(err instanceof CallError ? err.message : MESSAGES.audio, true);
    });
  }

  document.addEventListener('DOMContentLoaded', function () {
    $('call-form').addEventListener('submit', startCall);
    $('hangup').addEventListener('click', function () { if (call) call.hangUp(); });
    $('keypad').addEventListener('click', function (ev) {
      var digit = ev.target && ev.target.getAttribute && ev.target.getAttribute('data-digit');
      if (digit && call) call.dtmf(digit);
    });
    window.addEventListener('pagehide', function () { if (call) call.hangUp(); });
    window.requestAnimationFrame(meters);
  });
})();
