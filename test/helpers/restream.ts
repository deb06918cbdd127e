// Publishing into the stack itself for the restream tests: the engine verifies the publish secret
// and registers the stream, which is what forward and transcode pick their input from.
import { publishFile, type Publisher } from './media.js';
import { waitFor, type StackHandle } from './stack.js';

export async function publishSecretOf(stack: StackHandle, bearer: string): Promise<string> {
  return ((await stack.api('/terraform/v1/hooks/srs/secret/query', {}, { bearer })).json.data as { publish: string }).publish;
}

/** The engine's publish URL of a stream, with the publish secret. */
export function stackPublishUrl(stack: StackHandle, secret: string, stream: string, app = 'live'): string {
  return `rtmp://127.0.0.1:${stack.ports.rtmp}/${app}/${stream}?secret=${secret}`;
}

export function stackPlayUrl(stack: StackHandle, stream: string, app = 'live'): string {
  return `rtmp://127.0.0.1:${stack.ports.rtmp}/${app}/${stream}`;
}

async function activeStreams(stack: StackHandle, bearer: string): Promise<Array<{ app: string; stream: string }>> {
  const res = await stack.api('/terraform/v1/mgmt/streams/query', {}, { bearer });
  return (res.json.data as { streams: Array<{ app: string; stream: string }> | null } | undefined)?.streams ?? [];
}

export async function waitStreamLive(stack: StackHandle, bearer: string, stream: string, app = 'live', timeoutMs = 20_000): Promise<void> {
  await waitFor(
    async () => (await activeStreams(stack, bearer)).some((s) => s.app === app && s.stream === stream),
    timeoutMs,
    () => `${app}/${stream} registered as live\n${stack.logs().slice(-3000)}`,
  );
}

/** Loops a file into the stack (like OBS) and waits until the engine registered the stream. */
export async function publishIntoStack(stack: StackHandle, bearer: string, file: string, stream: string): Promise<Publisher> {
  const secret = await publishSecretOf(stack, bearer);
  const publisher = publishFile(stackPublishUrl(stack, secret, stream), file);
  await waitStreamLive(stack, bearer, stream);
  return publisher;
}
