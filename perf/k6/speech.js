// POST /api/v1/audio/speech, non-streaming and SSE side by side, ramping concurrency.
//   TOKEN=... k6 run perf/k6/speech.js
// k6 reads a response whole, so over SSE the time to first chunk is the time to the response's
// first byte (timings.waiting): the server sends the headers with the first data: event.
import http from 'k6/http';
import { check } from 'k6';
import { Rate, Trend } from 'k6/metrics';
import { AUTH, BASE_URL, BYTES_PER_SECOND, SAMPLE_RATE, TEXT, decodedLength, ramp, uploadVoice } from './common.js';

const firstChunk = new Trend('time_to_first_chunk', true);
const rtf = new Trend('rtf');
const errors = new Rate('errors');

export const options = {
  scenarios: { json: ramp('json'), sse: ramp('sse') },
  thresholds: { errors: ['rate<0.01'] },
};

export function setup() {
  return { voice: uploadVoice() };
}

function body(voice, stream) {
  return JSON.stringify({
    model: 'CosyVoice2-0.5B',
    stream,
    input: { mode: 'fast_replication', reference_audio_id: voice, text: TEXT, output_format: 'pcm', sample_rate: SAMPLE_RATE },
  });
}

function post(voice, stream) {
  return http.post(`${BASE_URL}/api/v1/audio/speech`, body(voice, stream), {
    headers: Object.assign({ 'Content-Type': 'application/json' }, AUTH),
    tags: { name: stream ? 'speech sse' : 'speech json' },
    timeout: '120s',
  });
}

export function json(data) {
  const response = post(data.voice, false);
  const ok = check(response, { 'json 200': (r) => r.status === 200 });
  errors.add(!ok);
  if (ok) {
    const seconds = decodedLength(response.json('output.audio.data')) / BYTES_PER_SECOND;
    firstChunk.add(response.timings.waiting + response.timings.receiving, { api: 'http' });
    if (seconds > 0) {
      rtf.add((response.timings.waiting + response.timings.receiving) / 1000 / seconds, { api: 'http' });
    }
  }
}

export function sse(data) {
  const response = post(data.voice, true);
  const events = response.status === 200
    ? response.body.split('\n').filter((line) => line.startsWith('data:')).map((line) => JSON.parse(line.slice(5)))
    : [];
  const ok = check(response, {
    'sse 200': (r) => r.status === 200,
    'sse ends with stop': () => events.length > 0 && events[events.length - 1].output.finish_reason === 'stop',
  });
  errors.add(!ok);
  if (ok) {
    let bytes = 0;
    for (const event of events) {
      bytes += decodedLength(event.output.audio && event.output.audio.data);
    }
    firstChunk.add(response.timings.waiting, { api: 'sse' });
    if (bytes > 0) {
      rtf.add((response.timings.waiting + response.timings.receiving) / 1000 / (bytes / BYTES_PER_SECOND), { api: 'sse' });
    }
  }
}
