/**
 * A stand-in for models/onnx/worker.ts that speaks the same protocol but misbehaves on request, so
 * the pool's failure handling can be tested without a broken model. Behaviour is picked by model name:
 *   init-fail   reports an init error (as a shape mismatch would); so does any worker spawned while
 *               PG_FAKE_WORKER_INIT_FAIL=1 (a model file that went bad after start)
 *   init-crash  dies before it is ready
 *   echo        answers with one detection whose score is the number of pixel bytes received
 *   slow        answers after 300 ms
 *   crash       exits the thread mid-job (as a native crash in the runtime would)
 *   throw       throws an uncaught error mid-job
 *   hang        never answers (a busy loop, as a wedged native call would)
 *   fail        answers with a job error
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { FromWorker, ToWorker, WorkerInit } from '../../../models/onnx/protocol.js';

const init = workerData as WorkerInit;
const port = parentPort;
if (port === null) throw new Error('fake-worker must run as a worker thread');
const send = (m: FromWorker): void => port.postMessage(m);
const names = init.models.map((m) => m.name);

if (names.includes('init-crash')) process.exit(2);
if (names.includes('init-fail') || process.env.PG_FAKE_WORKER_INIT_FAIL === '1') {
  send({
    type: 'init-error',
    code: 'MODEL_SHAPE',
    message: 'model inputs/outputs do not match the configuration: fake mismatch',
  });
} else {
  // Like the real worker, a close waits for the jobs already taken.
  let pending = 0;
  let closing = false;
  const settle = (): void => {
    if (closing && pending === 0) port.close();
  };
  port.on('message', (msg: ToWorker) => {
    if (msg.type === 'close') {
      closing = true;
      settle();
      return;
    }
    const behaviour = names[msg.model];
    const reply = (): void =>
      send({
        type: 'result',
        id: msg.id,
        detections: [{ cls: 0, score: msg.pixels.byteLength, box: [0, 0, 1, 1] }],
        runMs: 1,
        totalMs: 1,
      });
    switch (behaviour) {
      case 'echo':
        reply();
        break;
      case 'slow':
        pending++;
        setTimeout(() => {
          reply();
          pending--;
          settle();
        }, 300);
        break;
      case 'crash':
        process.exit(3);
        break;
      case 'throw':
        throw new Error('fake runtime fault');
      case 'hang':
        for (;;) {
          // Spin until the pool terminates this thread.
        }
      default:
        send({ type: 'job-error', id: msg.id, message: `fake failure in ${behaviour}` });
    }
  });
  send({
    type: 'ready',
    models: names.map((name) => ({ name, inputName: 'images', outputName: 'output0', warmupMs: 0 })),
  });
}
