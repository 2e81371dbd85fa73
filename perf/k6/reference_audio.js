// Reference-audio CRUD under ramping concurrency: upload, list, get, delete.
//   TOKEN=... k6 run perf/k6/reference_audio.js
import http from 'k6/http';
import { check } from 'k6';
import { Rate } from 'k6/metrics';
import { AUTH, BASE_URL, ramp, voiceWav } from './common.js';

const errors = new Rate('errors');
const WAV = voiceWav();

export const options = {
  scenarios: { crud: ramp('crud') },
  thresholds: { errors: ['rate<0.01'] },
};

export function crud() {
  const upload = http.post(`${BASE_URL}/api/v1/audio/reference_audio`, {
    text: '希望你以后能够做得比我还好哟',
    file: http.file(WAV, 'voice.wav', 'audio/wav'),
  }, { headers: AUTH, tags: { name: 'upload' } });
  const uploaded = check(upload, { 'upload 200': (r) => r.status === 200 });
  errors.add(!uploaded);
  if (!uploaded) {
    return;
  }
  const id = upload.json('id');
  const list = http.get(`${BASE_URL}/api/v1/audio/reference_audio?limit=10&order=desc`, { headers: AUTH, tags: { name: 'list' } });
  errors.add(!check(list, { 'list 200': (r) => r.status === 200 }));
  const one = http.get(`${BASE_URL}/api/v1/audio/reference_audio/${id}`, { headers: AUTH, tags: { name: 'get' } });
  errors.add(!check(one, { 'get 200': (r) => r.status === 200 && r.json('id') === id }));
  const gone = http.del(`${BASE_URL}/api/v1/audio/reference_audio/${id}`, null, { headers: AUTH, tags: { name: 'delete' } });
  errors.add(!check(gone, { 'delete 200': (r) => r.status === 200 && r.json('code') === 'OK' }));
}
