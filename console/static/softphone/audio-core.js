/* Softphone audio core: G.711 μ-law, 8 kHz resampling, capture and playback (jitter buffer, marks, clear).
 *
 * Loaded twice, standards only (no build step): as an AudioWorklet module, where it registers the
 * `permanence-capture` and `permanence-playback` processors, and as a page script, where it exposes the same
 * classes as `window.PermanenceAudio` for the ScriptProcessor fallback and for tests.
 */
(function (scope) {
  'use strict';

  var PHONE_RATE = 8000;
  var FRAME_BYTES = 160; // 20 ms of 8 kHz μ-law
  var BIAS = 0x84;

  /** One 16-bit sample → μ-law (bit-exact with the Sun/CCITT reference codec the server uses). */
  function encodeSample(pcm) {
    var x = pcm >> 2;
    var mask = x < 0 ? 0x7f : 0xff;
    x = Math.min(Math.abs(x), 8159) + 33;
    var seg = 0;
    while (seg < 8 && x >= (64 << seg)) seg++;
    var uval = seg >= 8 ? 0x7f : (seg << 4) | ((x >> (seg + 1)) & 0x0f);
    return (uval ^ mask) & 0xff;
  }

  var DECODE = new Int16Array(256);
  for (var u = 0; u < 256; u++) {
    var v = ~u & 0xff;
    var magnitude = (((v & 0x0f) << 3) + BIAS) << ((v >> 4) & 0x07);
    DECODE[u] = (v & 0x80) ? BIAS - magnitude : magnitude - BIAS;
  }

  /** Float samples (-1..1) → μ-law bytes. */
  function mulawEncode(floats) {
    var out = new Uint8Array(floats.length);
    for (var i = 0; i < floats.length; i++) {
      var s = Math.max(-1, Math.min(1, floats[i]));
      out[i] = encodeSample(Math.round(s * 32767));
    }
    return out;
  }

  /** μ-law bytes → float samples (-1..1). */
  function mulawDecode(bytes) {
    var out = new Float32Array(bytes.length);
    for (var i = 0; i < bytes.length; i++) out[i] = DECODE[bytes[i]] / 32768;
    return out;
  }

  function rms(samples) {
    if (!samples.length) return 0;
    var sum = 0;
    for (var i = 0; i < samples.length; i++) sum += samples[i] * samples[i];
    return Math.sqrt(sum / samples.length);
  }

  /**
   * Streaming resampler between any two rates (48 kHz, 44.1 kHz… ↔ 8 kHz): a windowed-sinc (Blackman)
   * low-pass at 3.6 kHz evaluated at each output sample's fractional input position — little aliasing going
   * down to the phone rate, little imaging coming back up. Kernels are cached per 1/256 of a sample.
   */
  function Resampler(inRate, outRate, cutoffHz) {
    this.ratio = inRate / outRate;
    this.fc = (cutoffHz || 3600) / inRate; // cycles per input sample
    this.half = Math.max(4, Math.round(3 * this.ratio));
    this.buf = new Float32Array(this.half); // leading zeros: history for the first outputs
    this.pos = this.half;
    this.kernels = {}; // taps per fractional phase (1/256 of a sample), normalised to unit gain
  }
  Resampler.prototype._kernel = function (frac) {
    var phase = Math.round(frac * 256);
    var kernel = this.kernels[phase];
    if (!kernel) {
      kernel = new Float32Array(2 * this.half);
      var norm = 0;
      for (var k = 1 - this.half; k <= this.half; k++) {
        kernel[k + this.half - 1] = this._tap(k - phase / 256);
        norm += kernel[k + this.half - 1];
      }
      for (var j = 0; j < kernel.length; j++) kernel[j] /= norm;
      this.kernels[phase] = kernel;
    }
    return kernel;
  };
  Resampler.prototype._tap = function (d) {
    var x = 2 * this.fc * d;
    var sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
    var t = d / this.half;
    return sinc * (0.42 + 0.5 * Math.cos(Math.PI * t) + 0.08 * Math.cos(2 * Math.PI * t));
  };
  Resampler.prototype.push = function (input) {
    var data = new Float32Array(this.buf.length + input.length);
    data.set(this.buf, 0);
    data.set(input, this.buf.length);
    var half = this.half;
    var out = [];
    while (Math.floor(this.pos) + half < data.length) {
      var i0 = Math.floor(this.pos);
      var kernel = this._kernel(this.pos - i0);
      var acc = 0;
      for (var k = 0; k < kernel.length; k++) acc += data[i0 + 1 - half + k] * kernel[k];
      out.push(acc);
      this.pos += this.ratio;
    }
    var keep = Math.max(0, Math.floor(this.pos) - half);
    this.buf = data.slice(keep);
    this.pos -= keep;
    return Float32Array.from(out);
  };

  /** Microphone at the context's rate → 20 ms μ-law frames for `media` events (with a level for the meter). */
  function CaptureCore(rate, onFrame) {
    this.down = new Resampler(rate, PHONE_RATE);
    this.pending = new Uint8Array(0);
    this.onFrame = onFrame;
    this.level = 0;
  }
  CaptureCore.prototype.push = function (samples) {
    this.level = Math.max(rms(samples), this.level * 0.9);
    var mulaw = mulawEncode(this.down.push(samples));
    var data = new Uint8Array(this.pending.length + mulaw.length);
    data.set(this.pending, 0);
    data.set(mulaw, this.pending.length);
    var offset = 0;
    for (; offset + FRAME_BYTES <= data.length; offset += FRAME_BYTES) {
      this.onFrame(data.slice(offset, offset + FRAME_BYTES), this.level);
    }
    this.pending = data.slice(offset);
  };

  /**
   * The agent's voice: a jitter buffer of μ-law chunks and marks. Playback starts once `prebufferMs` are
   * queued (or a mark closes a short segment), re-buffers on underrun, reports each mark when the audio
   * before it has been played, and `clear()` drops everything queued (barge-in), returning the dropped marks.
   */
  function PlaybackCore(rate, onEvent, prebufferMs) {
    this.rate = rate;
    this.up = new Resampler(PHONE_RATE, rate);
    this.queue = [];
    this.buffered = 0;
    this.playing = false;
    this.prebuffer = Math.round(rate * (prebufferMs || 100) / 1000);
    this.onEvent = onEvent;
    this.level = 0;
    this.played = 0;
    this.sinceReport = 0;
  }
  PlaybackCore.prototype.enqueueMulaw = function (bytes) {
    var samples = this.up.push(mulawDecode(bytes));
    this.queue.push({ samples: samples, offset: 0 });
    this.buffered += samples.length;
  };
  PlaybackCore.prototype.mark = function (name) {
    this.queue.push({ mark: name });
  };
  PlaybackCore.prototype.clear = function () {
    var marks = [];
    for (var i = 0; i < this.queue.length; i++) if (this.queue[i].mark !== undefined) marks.push(this.queue[i].mark);
    this.queue = [];
    this.buffered = 0;
    this.playing = false;
    this.up = new Resampler(PHONE_RATE, this.rate);
    return marks;
  };
  PlaybackCore.prototype._hasMark = function () {
    for (var i = 0; i < this.queue.length; i++) if (this.queue[i].mark !== undefined) return true;
    return false;
  };
  PlaybackCore.prototype.render = function (out) {
    var written = 0;
    if (!this.playing && (this.buffered >= this.prebuffer || this._hasMark())) this.playing = true;
    while (this.playing && written < out.length && this.queue.length) {
      var head = this.queue[0];
      if (head.mark !== undefined) {
        this.queue.shift();
        this.onEvent({ type: 'mark', name: head.mark });
        continue;
      }
      var n = Math.min(out.length - written, head.samples.length - head.offset);
      out.set(head.samples.subarray(head.offset, head.offset + n), written);
      head.offset += n;
      written += n;
      this.buffered -= n;
      if (head.offset >= head.samples.length) this.queue.shift();
    }
    if (written < out.length) {
      out.fill(0, written);
      if (!this.queue.length) this.playing = false; // underrun: wait for a new prebuffer
    }
    this.played += written;
    this.level = Math.max(rms(out), this.level * 0.85);
    this.sinceReport += out.length;
    if (this.sinceReport >= this.rate / 10) {
      this.sinceReport = 0;
      this.onEvent({ type: 'level', level: this.level, playedMs: Math.round(this.played * 1000 / this.rate) });
    }
  };

  var api = {
    PHONE_RATE: PHONE_RATE, FRAME_BYTES: FRAME_BYTES, mulawEncode: mulawEncode, mulawDecode: mulawDecode,
    Resampler: Resampler, CaptureCore: CaptureCore, PlaybackCore: PlaybackCore,
  };

  if (typeof registerProcessor === 'function' && typeof AudioWorkletProcessor === 'function') {
    /* global sampleRate, registerProcessor, AudioWorkletProcessor */
    class CaptureProcessor extends AudioWorkletProcessor {
      constructor() {
        super();
        var port = this.port;
        this.core = new CaptureCore(sampleRate, function (frame, level) {
          port.postMessage({ type: 'frame', frame: frame, level: level }, [frame.buffer]);
        });
      }
      process(inputs) {
        var channel = inputs[0] && inputs[0][0];
        if (channel) this.core.push(channel);
        return true;
      }
    }
    class PlaybackProcessor extends AudioWorkletProcessor {
      constructor() {
        super();
        var port = this.port;
        var core = this.core = new PlaybackCore(sampleRate, function (event) { port.postMessage(event); });
        port.onmessage = function (ev) {
          var msg = ev.data;
          if (msg.type === 'audio') core.enqueueMulaw(msg.mulaw);
          else if (msg.type === 'mark') core.mark(msg.name);
          else if (msg.type === 'clear') port.postMessage({ type: 'cleared', marks: core.clear() });
        };
      }
      process(inputs, outputs) {
        var channel = outputs[0] && outputs[0][0];
        if (channel) {
          this.core.render(channel);
          for (var c = 1; c < outputs[0].length; c++) outputs[0][c].set(channel);
        }
        return true;
      }
    }
    registerProcessor('permanence-capture', CaptureProcessor);
    registerProcessor('permanence-playback', PlaybackProcessor);
  } else {
    scope.PermanenceAudio = api;
  }
  if (typeof module === 'object' && module.exports) module.exports = api;
})(typeof globalThis !== 'undefined' ? globalThis : this);
