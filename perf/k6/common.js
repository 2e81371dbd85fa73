// Shared by the k6 scripts: settings from the environment, loopback only, the ramp, a voice.
//   BASE_URL (default http://127.0.0.1:8080), TOKEN (required), USERS (default 8),
//   RAMP and HOLD (seconds, default 20 and 30), TEXT (what to synthesise).
import http from 'k6/http';
import encoding from 'k6/encoding';

export const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:8080';
export const TOKEN = __ENV.TOKEN || '';
export const USERS = parseInt(__ENV.USERS || '8', 10);
export const RAMP = parseInt(__ENV.RAMP || '20', 10);
export const HOLD = parseInt(__ENV.HOLD || '30', 10);
export const TEXT = __ENV.TEXT || '今天天气很好。我们去公园散步吧。';
/** Audio is asked for as 16-bit PCM at 24 kHz, so its duration is its byte count over 48000. */
export const SAMPLE_RATE = 24000;
export const BYTES_PER_SECOND = SAMPLE_RATE * 2;

const host = BASE_URL.replace(/^[a-z]+:\/\//, '').replace(/[:/].*$/, '');
if (!['127.0.0.1', 'localhost', '[::1]'].includes(host) && __ENV.ALLOW_REMOTE !== 'true') {
  throw new Error(`BASE_URL ${BASE_URL} is not loopback; ALLOW_REMOTE=true to insist`);
}
if (!TOKEN) {
  throw new Error('TOKEN is required (one of the server\'s api.tokens, or its data/api-token)');
}

export const AUTH = { Authorization: `Bearer ${TOKEN}` };

/** Ramping concurrency for a closed-model scenario: 1 to USERS over RAMP seconds, then HOLD seconds there. */
export function ramp(exec) {
  return {
    executor: 'ramping-vus',
    exec,
    startVUs: 1,
    stages: [
      { duration: `${RAMP}s`, target: USERS },
      { duration: `${HOLD}s`, target: USERS },
    ],
    gracefulRampDown: '30s',
    gracefulStop: '60s',
  };
}

/** A 2-second 16 kHz mono 16-bit WAV (a 220 Hz tone) to upload as a voice. */
export function voiceWav() {
  const rate = 16000;
  const samples = rate * 2;
  const buffer = new ArrayBuffer(44 + samples * 2);
  const view = new DataView(buffer);
  const ascii = (offset, text) => { for (let i = 0; i < text.length; i++) view.setUint8(offset + i, text.charCodeAt(i)); };
  ascii(0, 'RIFF'); view.setUint32(4, 36 + samples * 2, true); ascii(8, 'WAVE');
  ascii(12, 'fmt '); view.setUint32(16, 16, true); view.setUint16(20, 1, true); view.setUint16(22, 1, true);
  view.setUint32(24, rate, true); view.setUint32(28, rate * 2, true); view.setUint16(32, 2, true); view.setUint16(34, 16, true);
  ascii(36, 'data'); view.setUint32(40, samples * 2, true);
  for (let i = 0; i < samples; i++) {
    view.setInt16(44 + i * 2, Math.round(8000 * Math.sin(2 * Math.PI * 220 * i / rate)), true);
  }
  return buffer;
}

/** Uploads a voice; returns its id. */
export function uploadVoice() {
  const response = http.post(`${BASE_URL}/api/v1/audio/reference_audio`, {
    text: '希望你以后能够做得比我还好哟',
    file: http.file(voiceWav(), 'voice.wav', 'audio/wav'),
  }, { headers: AUTH });
  if (response.status !== 200) {
    throw new Error(`voice upload: ${response.status} ${response.body}`);
  }
  return response.json('id');
}

/** Bytes of audio in a base64 string. */
export function decodedLength(base64) {
  return base64 ? encoding.b64decode(base64, 'std').byteLength : 0;
}
