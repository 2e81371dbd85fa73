// PAI-EAS WebSocket duplex tasks, ramping concurrency: each iteration connects, runs TASKS tasks
// (default 3: run-task, continue-task with the text, finish-task) and closes.
//   TOKEN=... k6 run perf/k6/websocket.js
import ws from 'k6/ws';
import { check } from 'k6';
import { Rate, Trend } from 'k6/metrics';
import { AUTH, BASE_URL, BYTES_PER_SECOND, SAMPLE_RATE, TEXT, decodedLength, ramp, uploadVoice } from './common.js';

const firstChunk = new Trend('time_to_first_chunk', true);
const rtf = new Trend('rtf');
const errors = new Rate('errors');
const TASKS = parseInt(__ENV.TASKS || '3', 10);

export const options = {
  scenarios: { duplex: ramp('duplex') },
  thresholds: { errors: ['rate<0.01'] },
};

export function setup() {
  return { voice: uploadVoice() };
}

function message(action, taskId, payload) {
  return JSON.stringify({ header: { action, task_id: taskId, streaming: 'duplex' }, payload });
}

export function duplex(data) {
  let task = 0;
  let taskId = null;
  let sentAt = 0;
  let firstAt = 0;
  let bytes = 0;
  const response = ws.connect(`${BASE_URL.replace(/^http/, 'ws')}/api-ws/v1/audio/speech`, { headers: AUTH }, (socket) => {
    const runTask = () => {
      taskId = `k6-${__VU}-${__ITER}-${task}`;
      firstAt = 0;
      bytes = 0;
      socket.send(message('run-task', taskId, {
        task_group: 'audio', task: 'tts', function: 'SpeechSynthesizer', model: 'cosyvoice-v2', input: {},
        parameters: { mode: 'fast_replication', reference_audio_id: data.voice, output_format: 'pcm', sample_rate: SAMPLE_RATE },
      }));
    };
    socket.on('open', runTask);
    socket.on('message', (text) => {
      const event = JSON.parse(text);
      switch (event.header.event) {
        case 'task-started':
          sentAt = Date.now();
          socket.send(message('continue-task', taskId, { input: { text: TEXT } }));
          socket.send(message('finish-task', taskId, { input: {} }));
          break;
        case 'result-generated':
          if (!firstAt) {
            firstAt = Date.now();
            firstChunk.add(firstAt - sentAt, { api: 'websocket' });
          }
          bytes += decodedLength(event.payload.output.audio.data);
          break;
        case 'task-finished':
          errors.add(!firstAt);
          if (bytes > 0) {
            rtf.add((Date.now() - sentAt) / 1000 / (bytes / BYTES_PER_SECOND), { api: 'websocket' });
          }
          task += 1;
          if (task < TASKS) {
            runTask();
          } else {
            socket.close();
          }
          break;
        default: // task-failed
          errors.add(true);
          socket.close();
      }
    });
    socket.setTimeout(() => {
      errors.add(true);
      socket.close();
    }, 120000);
  });
  check(response, { 'websocket 101': (r) => r && r.status === 101 });
}
