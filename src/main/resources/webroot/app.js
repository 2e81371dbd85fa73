// cosyvoice-server web UI: plain JavaScript, no build step. Talks to the same API as any client,
// with the token the user enters (kept in localStorage).
'use strict';

(() => {
  const REFERENCE_AUDIO = '/api/v1/audio/reference_audio';
  const SPEECH = '/api/v1/audio/speech';
  const SPEECH_SOCKET = '/api-ws/v1/audio/speech';
  const MODEL = 'CosyVoice2-0.5B';
  const TOKEN_KEY = 'cosyvoice.token';
  const RECORDING_SAMPLE_RATE = 24000;
  const MAX_RECORDING_SECONDS = 29.5; // the server takes 1 to 30 s

  const $ = (id) => document.getElementById(id);

  // ---------------------------------------------------------------- errors

  /** An error the API answered: status, the body's code and message, and its request id. */
  class ApiError extends Error {
    constructor(status, code, message, requestId) {
      super(message);
      this.status = status;
      this.code = code;
      this.requestId = requestId;
    }
  }

  /** A problem found by the page itself, with a message for the user. */
  class UiError extends Error {}

  function describe(err) {
    if (err instanceof ApiError) {
      const where = [err.code, err.status ? `HTTP ${err.status}` : null].filter(Boolean).join(', ');
      let text = `${err.message} (${where}${err.requestId ? `; request id ${err.requestId}` : ''})`;
      if (err.status === 401 || err.code === 'Unauthorized') {
        text += '\nCheck the API token at the top of the page.';
      }
      return text;
    }
    if (err instanceof UiError) {
      return err.message;
    }
    if (err && err.name === 'NotAllowedError') {
      return 'The browser was not allowed to use the microphone. Allow it in the site settings and try again.';
    }
    if (err && err.name === 'NotFoundError') {
      return 'No microphone was found.';
    }
    return `Unexpected error: ${err && err.message ? err.message : String(err)}`;
  }

  function showError(elementId, context, err) {
    const box = $(elementId);
    box.textContent = `${context}: ${describe(err)}`;
    box.hidden = false;
  }

  function clearError(elementId) {
    const box = $(elementId);
    box.hidden = true;
    box.textContent = '';
  }

  // ---------------------------------------------------------------- token and API calls

  function storedToken() {
    try {
      return localStorage.getItem(TOKEN_KEY) || '';
    } catch (e) {
      return '';
    }
  }

  function token() {
    return $('token').value.trim();
  }

  function requireToken() {
    const value = token();
    if (!value) {
      throw new UiError('Enter the API token first (top of the page).');
    }
    return value;
  }

  async function apiError(response) {
    let body = null;
    try {
      body = await response.json();
    } catch (e) {
      // not JSON: a proxy or an unexpected page; described below
    }
    if (body && typeof body.code === 'string' && typeof body.message === 'string') {
      return new ApiError(response.status, body.code, body.message, body.request_id);
    }
    return new ApiError(response.status, `HTTP ${response.status}`, response.statusText || 'unexpected response',
      response.headers.get('X-Request-Id'));
  }

  async function api(method, path, options = {}) {
    const headers = Object.assign({ Authorization: `Bearer ${requireToken()}` }, options.headers || {});
    let response;
    try {
      response = await fetch(path, { method, headers, body: options.body, signal: options.signal, cache: 'no-store' });
    } catch (e) {
      if (e.name === 'AbortError') {
        throw e;
      }
      throw new UiError(`Could not reach the server (${e.message}). Is it running?`);
    }
    if (!response.ok) {
      throw await apiError(response);
    }
    return response;
  }

  // ---------------------------------------------------------------- small helpers

  function randomUuid() {
    // crypto.randomUUID exists only on secure pages; getRandomValues everywhere
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  function base64ToBytes(text) {
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) {
      bytes[i] = binary.charCodeAt(i);
    }
    return bytes;
  }

  function formatBytes(n) {
    if (n < 1024) return `${n} B`;
    if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
    return `${(n / 1024 / 1024).toFixed(1)} MB`;
  }

  function formatSeconds(s) {
    return `${s.toFixed(2)} s`;
  }

  /** A 44-byte canonical WAV header for 16-bit mono samples. */
  function wavHeader(sampleRate, dataBytes, channels = 1) {
    const header = new ArrayBuffer(44);
    const v = new DataView(header);
    const ascii = (off, s) => { for (let i = 0; i < s.length; i++) v.setUint8(off + i, s.charCodeAt(i)); };
    ascii(0, 'RIFF');
    v.setUint32(4, 36 + dataBytes, true);
    ascii(8, 'WAVE');
    ascii(12, 'fmt ');
    v.setUint32(16, 16, true);
    v.setUint16(20, 1, true);
    v.setUint16(22, channels, true);
    v.setUint32(24, sampleRate, true);
    v.setUint32(28, sampleRate * channels * 2, true);
    v.setUint16(32, channels * 2, true);
    v.setUint16(34, 16, true);
    ascii(36, 'data');
    v.setUint32(40, dataBytes, true);
    return new Uint8Array(header);
  }

  function encodeWav(samples, sampleRate) {
    const data = new DataView(new ArrayBuffer(samples.length * 2));
    for (let i = 0; i < samples.length; i++) {
      const s = Math.max(-1, Math.min(1, samples[i]));
      data.setInt16(i * 2, s < 0 ? s * 0x8000 : s * 0x7fff, true);
    }
    return new Blob([wavHeader(sampleRate, data.byteLength), data.buffer], { type: 'audio/wav' });
  }

  // ---------------------------------------------------------------- voice library

  let voices = [];
  let pendingAudio = null; // {blob, name, pcm}: what "Upload voice" sends
  const playbackUrls = new Map();

  function setPendingAudio(audio) {
    pendingAudio = audio;
    $('upload-source').textContent = audio
      ? `Will upload: ${audio.name} (${formatBytes(audio.blob.size)})`
      : 'No audio chosen yet.';
    $('pcm-rate-row').hidden = !(audio && audio.pcm);
  }

  async function loadVoices() {
    clearError('voices-error');
    if (!token()) {
      voices = [];
      renderVoices();
      $('voices-status').textContent = 'Enter the API token to see the voices.';
      return;
    }
    $('voices-status').textContent = 'Loading voices…';
    try {
      const response = await api('GET', `${REFERENCE_AUDIO}?limit=1000&order=desc`);
      voices = await response.json();
      renderVoices();
      $('voices-status').textContent = voices.length === 0
        ? 'No voices yet: add one above.'
        : `${voices.length} voice${voices.length === 1 ? '' : 's'}.`;
    } catch (err) {
      $('voices-status').textContent = '';
      showError('voices-error', 'Could not list the voices', err);
    }
  }

  function renderVoices() {
    const list = $('voice-list');
    list.replaceChildren();
    for (const voice of voices) {
      const item = document.createElement('li');
      item.dataset.id = voice.id;

      const name = document.createElement('div');
      name.className = 'name';
      name.textContent = voice.filename || voice.id;
      const transcript = document.createElement('p');
      transcript.className = 'transcript';
      transcript.textContent = voice.text;
      const meta = document.createElement('div');
      meta.className = 'meta';
      meta.textContent = `${new Date(voice.created_at * 1000).toLocaleString()} · ${formatBytes(voice.bytes)} · ${voice.id}`;

      const actions = document.createElement('div');
      actions.className = 'row';
      const play = button('Play', 'secondary', `Play ${voice.filename}`, () => playVoice(voice, item));
      play.classList.add('play');
      const use = button('Use for synthesis', 'secondary', `Use ${voice.filename} for synthesis`, () => {
        $('voice').value = voice.id;
        $('text').focus();
      });
      use.classList.add('use');
      const remove = button('Delete', 'danger', `Delete ${voice.filename}`, () => confirmDelete(voice));
      remove.classList.add('delete');
      actions.append(play, use, remove);

      const player = document.createElement('audio');
      player.controls = true;
      player.hidden = true;
      player.setAttribute('aria-label', `Recording of ${voice.filename}`);

      item.append(name, transcript, meta, actions, player);
      list.append(item);
    }
    renderVoiceSelect();
  }

  function button(text, className, label, onClick) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = className;
    b.textContent = text;
    b.setAttribute('aria-label', label);
    b.addEventListener('click', onClick);
    return b;
  }

  function renderVoiceSelect() {
    const select = $('voice');
    const previous = select.value;
    select.replaceChildren();
    if (voices.length === 0) {
      const option = new Option('No voices: add one in the library', '');
      select.append(option);
      return;
    }
    for (const voice of voices) {
      const text = voice.text.length > 40 ? `${voice.text.slice(0, 40)}…` : voice.text;
      select.append(new Option(`${voice.filename}: ${text}`, voice.id));
    }
    if (voices.some((v) => v.id === previous)) {
      select.value = previous;
    }
  }

  async function playVoice(voice, item) {
    clearError('voices-error');
    const player = item.querySelector('audio');
    try {
      let url = playbackUrls.get(voice.id);
      if (!url) {
        const response = await api('GET', `${REFERENCE_AUDIO}/${voice.id}/audio`);
        const type = response.headers.get('Content-Type') || '';
        let blob = await response.blob();
        if (type.startsWith('audio/pcm')) {
          // raw samples: give them a WAV header so the browser can play them
          const rate = Number((/rate=(\d+)/.exec(type) || [])[1] || 16000);
          const channels = Number((/channels=(\d+)/.exec(type) || [])[1] || 1);
          blob = new Blob([wavHeader(rate, blob.size, channels), blob], { type: 'audio/wav' });
        }
        url = URL.createObjectURL(blob);
        playbackUrls.set(voice.id, url);
      }
      player.src = url;
      player.hidden = false;
      await player.play();
    } catch (err) {
      showError('voices-error', `Could not play ${voice.filename}`, err);
    }
  }

  function confirmDelete(voice) {
    const dialog = $('confirm-dialog');
    $('confirm-text').textContent = `“${voice.filename}” (${voice.text}) will be removed with its stored audio. This cannot be undone.`;
    dialog.dataset.id = voice.id;
    dialog.showModal();
    $('confirm-cancel').focus();
  }

  async function deleteVoice(id) {
    const voice = voices.find((v) => v.id === id);
    const name = voice ? voice.filename : id;
    clearError('voices-error');
    try {
      await api('DELETE', `${REFERENCE_AUDIO}/${id}`);
      const url = playbackUrls.get(id);
      if (url) {
        URL.revokeObjectURL(url);
        playbackUrls.delete(id);
      }
      await loadVoices();
      $('voices-status').textContent = `Deleted ${name}. ${$('voices-status').textContent}`;
    } catch (err) {
      showError('voices-error', `Could not delete ${name}`, err);
    }
    $('voices-refresh').focus();
  }

  async function upload(event) {
    event.preventDefault();
    clearError('upload-error');
    $('upload-status').textContent = '';
    try {
      if (!pendingAudio) {
        throw new UiError('Choose an audio file or record one first.');
      }
      const text = $('voice-text').value.trim();
      if (!text) {
        $('voice-text').focus();
        throw new UiError('Enter the transcript: exactly what the recording says.');
      }
      const form = new FormData();
      form.append('file', pendingAudio.blob, pendingAudio.name);
      form.append('text', text);
      if (pendingAudio.pcm) {
        form.append('sample_rate', $('pcm-rate').value.trim());
      }
      $('upload').disabled = true;
      $('upload-status').textContent = `Uploading ${pendingAudio.name}…`;
      const response = await api('POST', REFERENCE_AUDIO, { body: form });
      const voice = await response.json();
      $('upload-form').reset();
      setPendingAudio(null);
      $('record-preview').hidden = true;
      $('record-status').textContent = '';
      await loadVoices();
      $('voice').value = voice.id;
      $('upload-status').textContent = `Uploaded ${voice.filename}: it is selected for synthesis.`;
    } catch (err) {
      $('upload-status').textContent = '';
      showError('upload-error', 'Upload failed', err);
    } finally {
      $('upload').disabled = false;
    }
  }

  // ---------------------------------------------------------------- recording

  let recording = null; // {recorder, stream, chunks, started, timer}

  async function startRecording() {
    clearError('upload-error');
    try {
      if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || typeof MediaRecorder === 'undefined') {
        throw new UiError('Recording needs a browser with microphone access on a secure page (HTTPS, or http://localhost).');
      }
      const stream = await navigator.mediaDevices.getUserMedia({
        audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false },
      });
      const recorder = new MediaRecorder(stream);
      const state = { recorder, stream, chunks: [], started: performance.now(), timer: 0 };
      recorder.addEventListener('dataavailable', (e) => { if (e.data.size > 0) state.chunks.push(e.data); });
      recorder.addEventListener('stop', () => finishRecording(state));
      recorder.start();
      recording = state;
      state.timer = setInterval(() => {
        const seconds = (performance.now() - state.started) / 1000;
        $('record-status').textContent = `Recording… ${seconds.toFixed(0)} s (stops by itself at 30 s)`;
        if (seconds >= MAX_RECORDING_SECONDS) {
          stopRecording();
        }
      }, 250);
      $('record-status').textContent = 'Recording… 0 s (stops by itself at 30 s)';
      $('record-start').disabled = true;
      $('record-stop').disabled = false;
      $('record-stop').focus();
    } catch (err) {
      showError('upload-error', 'Could not record', err);
    }
  }

  function stopRecording() {
    if (!recording) return;
    clearInterval(recording.timer);
    if (recording.recorder.state !== 'inactive') {
      recording.recorder.stop();
    }
    recording.stream.getTracks().forEach((t) => t.stop());
    recording = null;
    $('record-start').disabled = false;
    $('record-stop').disabled = true;
    $('record-start').focus();
  }

  async function finishRecording(state) {
    try {
      const compressed = new Blob(state.chunks, { type: state.recorder.mimeType });
      // the server takes WAV, MP3 or PCM: decode what the browser recorded (WebM/Ogg/MP4) and make a WAV
      const context = new OfflineAudioContext(1, 1, RECORDING_SAMPLE_RATE);
      const decoded = await context.decodeAudioData(await compressed.arrayBuffer());
      const mono = new Float32Array(decoded.length);
      for (let c = 0; c < decoded.numberOfChannels; c++) {
        const channel = decoded.getChannelData(c);
        for (let i = 0; i < mono.length; i++) mono[i] += channel[i] / decoded.numberOfChannels;
      }
      const wav = encodeWav(mono, decoded.sampleRate);
      const name = `recording-${new Date().toISOString().replace(/[:.]/g, '-')}.wav`;
      $('voice-file').value = '';
      setPendingAudio({ blob: wav, name, pcm: false });
      const preview = $('record-preview');
      if (preview.src) URL.revokeObjectURL(preview.src);
      preview.src = URL.createObjectURL(wav);
      preview.hidden = false;
      $('record-status').textContent = `Recorded ${formatSeconds(decoded.duration)}. Type what you said, then upload.`;
    } catch (err) {
      $('record-status').textContent = '';
      showError('upload-error', 'Could not use the recording', err);
    }
  }

  // ---------------------------------------------------------------- streaming playback

  const MP3_BIT_RATES = {
    1: [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
    2: [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
  };

  /** Samples in the whole MP3 frames of one chunk (the API sends whole frames). */
  function mp3Samples(bytes) {
    let i = 0;
    let samples = 0;
    let rate = 0;
    while (i + 4 <= bytes.length) {
      const version = (bytes[i + 1] >> 3) & 3; // 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5
      const layer = (bytes[i + 1] >> 1) & 3; // 1: Layer III
      const bitIndex = bytes[i + 2] >> 4;
      const rateIndex = (bytes[i + 2] >> 2) & 3;
      if (bytes[i] !== 0xff || (bytes[i + 1] & 0xe0) !== 0xe0 || version === 1 || layer !== 1
          || bitIndex === 0 || bitIndex === 15 || rateIndex === 3) {
        i++;
        continue;
      }
      const mpeg1 = version === 3;
      rate = [44100, 48000, 32000][rateIndex] / (mpeg1 ? 1 : version === 2 ? 2 : 4);
      const bitRate = MP3_BIT_RATES[mpeg1 ? 1 : 2][bitIndex] * 1000;
      const padding = (bytes[i + 2] >> 1) & 1;
      samples += mpeg1 ? 1152 : 576;
      i += Math.floor(((mpeg1 ? 144 : 72) * bitRate) / rate) + padding;
    }
    return { samples, rate };
  }

  /**
   * Plays the chunks of one synthesis as they arrive (Web Audio, each chunk scheduled right after
   * the previous one), counts the audio received and played, and keeps the bytes for the download.
   */
  class StreamPlayer {
    constructor(context, format, sampleRate, onProgress) {
      this.context = context;
      this.format = format;
      this.sampleRate = sampleRate;
      this.onProgress = onProgress;
      this.parts = [];
      this.receivedSeconds = 0;
      this.playedSeconds = 0;
      this.chunks = 0;
      this.nextStart = 0;
      this.header = format === 'wav' ? new Uint8Array(0) : null; // WAV: bytes until the header is complete
      this.dataOffset = 0;
      this.oddByte = null;
      this.decoding = Promise.resolve();
      this.sources = new Set();
      this.stopped = false;
    }

    push(bytes) {
      this.parts.push(bytes);
      this.chunks++;
      if (this.format === 'mp3') {
        const { samples, rate } = mp3Samples(bytes);
        this.receivedSeconds += rate ? samples / rate : 0;
        this.decoding = this.decoding
          .then(() => this.context.decodeAudioData(bytes.slice().buffer))
          .then((buffer) => this.schedule(buffer))
          .catch(() => { /* a chunk the browser cannot decode alone: it still counts and downloads */ });
      } else if (this.format === 'wav' && this.header !== null) {
        this.header = concat(this.header, bytes);
        const offset = wavDataOffset(this.header);
        if (offset >= 0) {
          this.dataOffset = offset;
          const samples = this.header.subarray(offset);
          this.header = null;
          this.pcm(samples);
        }
      } else {
        this.pcm(bytes);
      }
      this.onProgress(this);
    }

    pcm(bytes) {
      let data = bytes;
      if (this.oddByte !== null) {
        data = concat(Uint8Array.of(this.oddByte), bytes);
        this.oddByte = null;
      }
      if (data.length % 2 === 1) {
        this.oddByte = data[data.length - 1];
        data = data.subarray(0, data.length - 1);
      }
      const count = data.length / 2;
      if (count === 0) return;
      const view = new DataView(data.buffer, data.byteOffset, data.length);
      const samples = new Float32Array(count);
      for (let i = 0; i < count; i++) samples[i] = view.getInt16(i * 2, true) / 32768;
      this.receivedSeconds += count / this.sampleRate;
      const buffer = this.context.createBuffer(1, count, this.sampleRate);
      buffer.copyToChannel(samples, 0);
      this.schedule(buffer);
    }

    schedule(buffer) {
      if (this.stopped) return;
      const source = this.context.createBufferSource();
      source.buffer = buffer;
      source.connect(this.context.destination);
      const start = Math.max(this.nextStart, this.context.currentTime + 0.05);
      source.start(start);
      this.nextStart = start + buffer.duration;
      this.sources.add(source);
      source.addEventListener('ended', () => {
        this.sources.delete(source);
        if (!this.stopped) {
          this.playedSeconds += buffer.duration;
          this.onProgress(this);
        }
      });
    }

    stop() {
      this.stopped = true;
      for (const source of this.sources) {
        try { source.stop(); } catch (e) { /* not started yet */ }
      }
      this.sources.clear();
    }

    /** The whole file; a WAV gets its real sizes in place of the streaming header's 0xFFFFFFFF. */
    file() {
      const bytes = concat(...this.parts);
      if (this.format === 'wav' && bytes.length >= this.dataOffset && this.dataOffset > 0) {
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
        view.setUint32(4, bytes.length - 8, true);
        view.setUint32(this.dataOffset - 4, bytes.length - this.dataOffset, true);
      }
      const type = { wav: 'audio/wav', mp3: 'audio/mpeg', pcm: 'application/octet-stream' }[this.format];
      return new Blob([bytes], { type });
    }
  }

  function concat(...arrays) {
    const total = arrays.reduce((n, a) => n + a.length, 0);
    const out = new Uint8Array(total);
    let offset = 0;
    for (const a of arrays) {
      out.set(a, offset);
      offset += a.length;
    }
    return out;
  }

  /** Where the samples of a WAV start, or -1 while the header is not complete. */
  function wavDataOffset(bytes) {
    if (bytes.length < 12) return -1;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    let offset = 12;
    while (offset + 8 <= bytes.length) {
      const id = String.fromCharCode(bytes[offset], bytes[offset + 1], bytes[offset + 2], bytes[offset + 3]);
      if (id === 'data') return offset + 8;
      offset += 8 + view.getUint32(offset + 4, true) + (view.getUint32(offset + 4, true) % 2);
    }
    return -1;
  }

  // ---------------------------------------------------------------- synthesis

  let run = null; // the synthesis under way: {cancel}
  let audioContext = null;
  let downloadUrl = null;

  function selectedMode() {
    return document.querySelector('input[name=mode]:checked').value;
  }

  function updateModeFields() {
    $('instruct-row').hidden = selectedMode() !== 'natural_language_replication';
    $('bit-rate-row').hidden = $('format').value !== 'mp3';
  }

  function number(id) {
    const text = $(id).value.trim();
    // sent as typed: the server names the field when a value is out of range
    return text === '' ? undefined : Number(text);
  }

  function speechParameters() {
    const mode = selectedMode();
    const parameters = {
      mode,
      reference_audio_id: $('voice').value,
      output_format: $('format').value,
      sample_rate: Number($('sample-rate').value),
    };
    const speed = number('speed');
    const volume = number('volume');
    const seed = number('seed');
    if (speed !== undefined) parameters.speed = speed;
    if (volume !== undefined) parameters.volume = volume;
    if (seed !== undefined) parameters.seed = seed;
    if (parameters.output_format === 'mp3') parameters.bit_rate = $('bit-rate').value;
    if (mode === 'natural_language_replication') parameters.instruct = $('instruct').value.trim();
    return parameters;
  }

  function resetStats() {
    for (const id of ['audio-received', 'audio-played', 'first-audio', 'rtf', 'chunks']) {
      $(id).textContent = '–';
    }
    $('download').hidden = true;
    if (downloadUrl) {
      URL.revokeObjectURL(downloadUrl);
      downloadUrl = null;
    }
  }

  async function synthesize(event) {
    event.preventDefault();
    if (run) return;
    clearError('speech-error');
    $('speech-status').classList.remove('failed');
    resetStats();
    let player = null;
    try {
      requireToken();
      if (!$('voice').value) {
        throw new UiError('Choose a voice (add one in the voice library first).');
      }
      const text = $('text').value.trim();
      if (!text) {
        $('text').focus();
        throw new UiError('Enter the text to speak.');
      }
      const parameters = speechParameters();
      // one context for the page, created on a click so the browser lets it play
      audioContext = audioContext || new AudioContext();
      if (audioContext.state === 'suspended') {
        await audioContext.resume();
      }
      const started = performance.now();
      let firstAudio = null;
      player = new StreamPlayer(audioContext, parameters.output_format, parameters.sample_rate, (p) => {
        if (firstAudio === null) {
          firstAudio = performance.now() - started;
          $('first-audio').textContent = `${firstAudio.toFixed(0)} ms`;
        }
        $('audio-received').textContent = formatSeconds(p.receivedSeconds);
        $('audio-played').textContent = formatSeconds(p.playedSeconds);
        $('chunks').textContent = String(p.chunks);
      });
      const transport = $('transport').value;
      $('synthesize').disabled = true;
      $('stop').disabled = false;
      $('speech-status').textContent = `Synthesizing over ${transport === 'sse' ? 'HTTP (SSE)' : 'WebSocket'}…`;
      const task = transport === 'sse'
        ? streamOverSse(parameters, text, (bytes) => player.push(bytes))
        : streamOverWebSocket(parameters, text, (bytes) => player.push(bytes));
      run = task;
      await task.done;
      const elapsed = (performance.now() - started) / 1000;
      if (player.chunks === 0 || player.receivedSeconds === 0) {
        throw new UiError('The server finished without sending any audio.');
      }
      $('rtf').textContent = (elapsed / player.receivedSeconds).toFixed(3);
      downloadUrl = URL.createObjectURL(player.file());
      const link = $('download');
      link.href = downloadUrl;
      link.download = `speech-${parameters.mode}-${Date.now()}.${parameters.output_format}`;
      link.textContent = `Download ${parameters.output_format.toUpperCase()} (${formatSeconds(player.receivedSeconds)})`;
      link.hidden = false;
      $('speech-status').textContent = `Done: ${formatSeconds(player.receivedSeconds)} of audio in ${formatSeconds(elapsed)}.`;
    } catch (err) {
      if (err && err.name === 'AbortError') {
        $('speech-status').textContent = 'Stopped.';
        if (player) player.stop();
      } else {
        $('speech-status').textContent = 'Failed.';
        $('speech-status').classList.add('failed');
        showError('speech-error', 'Synthesis failed', err);
        if (err instanceof ApiError && err.code === 'NotFound') {
          loadVoices(); // the voice was deleted elsewhere: show the list as it is now
        }
      }
    } finally {
      run = null;
      $('synthesize').disabled = false;
      $('stop').disabled = true;
    }
  }

  function stopSynthesis() {
    if (run) run.cancel();
  }

  function abortError() {
    const err = new Error('stopped');
    err.name = 'AbortError';
    return err;
  }

  /** POST /api/v1/audio/speech with stream: true, reading the event stream as it arrives. */
  function streamOverSse(parameters, text, onAudio) {
    const controller = new AbortController();
    const done = (async () => {
      const response = await api('POST', SPEECH, {
        headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream' },
        body: JSON.stringify({ model: MODEL, input: Object.assign({ text }, parameters), stream: true }),
        signal: controller.signal,
      });
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      let finished = false;
      for (;;) {
        const { value, done: ended } = await reader.read();
        if (ended) break;
        buffer += value;
        let cut;
        while ((cut = buffer.search(/\r?\n\r?\n/)) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut).replace(/^\r?\n\r?\n/, '');
          const data = block.split(/\r?\n/).filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n');
          if (!data) continue;
          const event = JSON.parse(data);
          if (event.error) {
            throw new ApiError(null, event.error.code, event.error.message, event.request_id);
          }
          const audio = event.output && event.output.audio;
          if (audio && audio.data) onAudio(base64ToBytes(audio.data));
          if (event.output && event.output.finish_reason === 'stop') finished = true;
        }
      }
      if (!finished) {
        throw new UiError('The event stream ended before the last chunk (the connection was cut).');
      }
    })();
    return { done, cancel: () => controller.abort() };
  }

  /** The duplex WebSocket task: run-task, the text, finish-task; audio in result-generated events. */
  function streamOverWebSocket(parameters, text, onAudio) {
    const url = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}${SPEECH_SOCKET}`;
    const taskId = randomUuid();
    let socket;
    let cancel = () => {};
    const done = new Promise((resolve, reject) => {
      try {
        // browsers cannot set Authorization on a WebSocket: the server reads the token from the subprotocol
        socket = new WebSocket(url, [`bearer.${requireToken()}`]);
      } catch (e) {
        reject(e instanceof UiError ? e
          : new UiError('The token cannot be sent over a WebSocket (it has characters a subprotocol cannot carry): choose HTTP (Server-Sent Events).'));
        return;
      }
      let opened = false;
      let settled = false;
      const settle = (fn, value) => {
        if (!settled) {
          settled = true;
          fn(value);
        }
      };
      cancel = () => {
        settle(reject, abortError());
        socket.close(1000, 'stopped by the user');
      };
      const send = (action, payload) => socket.send(JSON.stringify({
        header: { action, task_id: taskId, streaming: 'duplex' }, payload,
      }));
      socket.addEventListener('open', () => {
        opened = true;
        send('run-task', {
          task_group: 'audio', task: 'tts', function: 'SpeechSynthesizer', model: MODEL, parameters, input: {},
        });
      });
      socket.addEventListener('message', (message) => {
        let event;
        try {
          event = JSON.parse(message.data);
        } catch (e) {
          settle(reject, new UiError('The server sent a message that is not JSON.'));
          socket.close();
          return;
        }
        const header = event.header || {};
        switch (header.event) {
          case 'task-started':
            send('continue-task', { input: { text } });
            send('finish-task', { input: {} });
            break;
          case 'result-generated': {
            const audio = event.payload && event.payload.output && event.payload.output.audio;
            if (audio && audio.data) onAudio(base64ToBytes(audio.data));
            break;
          }
          case 'task-finished':
            settle(resolve);
            socket.close(1000, 'done');
            break;
          case 'task-failed':
            settle(reject, new ApiError(null, header.error_code, header.error_message || 'task failed', null));
            socket.close(1000, 'failed');
            break;
          default:
            break;
        }
      });
      socket.addEventListener('close', (e) => {
        settle(reject, new UiError(opened
          ? `The connection closed before the task finished (code ${e.code}${e.reason ? `: ${e.reason}` : ''}).`
          : 'The WebSocket connection was refused. Check the API token, or choose HTTP (Server-Sent Events) to see the server\'s message.'));
      });
    });
    return { done, cancel: () => cancel() };
  }

  // ---------------------------------------------------------------- wiring

  function init() {
    $('token').value = storedToken();
    $('token-form').addEventListener('submit', (e) => {
      e.preventDefault();
      try {
        localStorage.setItem(TOKEN_KEY, token());
        $('token-status').textContent = 'Token saved in this browser.';
      } catch (err) {
        $('token-status').textContent = 'This browser does not allow storage: the token is used for this visit only.';
      }
      loadVoices();
    });
    $('token-forget').addEventListener('click', () => {
      try { localStorage.removeItem(TOKEN_KEY); } catch (e) { /* nothing stored */ }
      $('token').value = '';
      $('token-status').textContent = 'Token removed from this browser.';
      loadVoices();
    });

    $('voice-file').addEventListener('change', () => {
      const file = $('voice-file').files[0];
      setPendingAudio(file ? { blob: file, name: file.name, pcm: /\.(pcm|raw)$/i.test(file.name) } : null);
      if (file) $('record-preview').hidden = true;
    });
    $('record-start').addEventListener('click', startRecording);
    $('record-stop').addEventListener('click', stopRecording);
    $('upload-form').addEventListener('submit', upload);
    $('voices-refresh').addEventListener('click', loadVoices);

    const dialog = $('confirm-dialog');
    $('confirm-cancel').addEventListener('click', () => dialog.close('cancel'));
    $('confirm-delete').addEventListener('click', () => dialog.close('delete'));
    dialog.addEventListener('close', () => {
      if (dialog.returnValue === 'delete') {
        deleteVoice(dialog.dataset.id);
      }
      dialog.returnValue = '';
    });

    for (const radio of document.querySelectorAll('input[name=mode]')) {
      radio.addEventListener('change', updateModeFields);
    }
    $('format').addEventListener('change', updateModeFields);
    $('speech-form').addEventListener('submit', synthesize);
    $('stop').addEventListener('click', stopSynthesis);
    updateModeFields();
    loadVoices();
  }

  init();
})();
