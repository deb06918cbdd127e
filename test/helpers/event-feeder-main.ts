// A test entry: boots the real stack exactly like server/main.ts and lets the test raise engine
// events (hls.segment, stream.published/unpublished) over IPC, as the media engine would in-process.
// Each message is answered once every listener has finished, so tests need no sleeps; the events
// the stack raises for other features (record.begin/end) are sent back to the test.
import { App } from '../../server/app.js';
import { loadConfig } from '../../server/config.js';
import type { StackEvents } from '../../server/core/events.js';
import { readVersion } from '../../server/version.js';

interface EmitRequest {
  id: number;
  name: keyof StackEvents;
  payload: StackEvents[keyof StackEvents];
}

const app = new App(loadConfig(), readVersion());

process.on('message', (m: EmitRequest) => {
  void app.events.emit(m.name, m.payload as never).then(() => process.send?.({ id: m.id }));
});
for (const name of ['record.begin', 'record.end'] as const) {
  app.events.on(name, (payload) => void process.send?.({ event: name, payload }));
}
const stop = async () => {
  await app.stop();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('disconnect', () => void stop());
await app.start();
