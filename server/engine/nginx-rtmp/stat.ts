// Parses nginx-rtmp's /stat XML (a fixed, flat shape written by ngx_rtmp_stat_module) into the
// engine-neutral EngineStream. No XML library: the document has no attributes, no CDATA and only
// the entities of ngx_escape_html.
import type { EngineClient, EngineStream } from '../media-engine.js';
import { NGINX_RELAY_FLASHVER } from './callback.js';

function decode(text: string): string {
  if (!text.includes('&')) return text;
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

function tag(xml: string, name: string): string | null {
  const m = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml);
  return m ? decode(m[1] ?? '') : null;
}

function num(xml: string, name: string): number {
  const n = Number(tag(xml, name));
  return Number.isFinite(n) ? n : 0;
}

function blocks(xml: string, name: string): string[] {
  return [...xml.matchAll(new RegExp(`<${name}>([\\s\\S]*?)</${name}>`, 'g'))].map((m) => m[1] ?? '');
}

function parseClient(xml: string): EngineClient {
  const flashver = tag(xml, 'flashver') ?? '';
  const relay = flashver.startsWith(NGINX_RELAY_FLASHVER);
  return {
    id: tag(xml, 'id') ?? '',
    address: relay ? '' : (tag(xml, 'address') ?? ''),
    publishing: xml.includes('<publishing/>'),
    relay,
    aliveMs: num(xml, 'time'),
    pageUrl: tag(xml, 'pageurl') ?? '',
    bytesIn: num(xml, 'bytes_in'),
    bytesOut: num(xml, 'bytes_out'),
  };
}

function parseStream(app: string, xml: string): EngineStream {
  const clients = blocks(xml, 'client').map(parseClient);
  const meta = tag(xml, 'meta') ?? '';
  // Stream-level flags sit after the client and meta blocks, which carry flags of their own.
  const own = xml.replace(/<client>[\s\S]*?<\/client>/g, '').replace(/<meta>[\s\S]*?<\/meta>/g, '');
  const videoXml = tag(meta, 'video');
  const audioXml = tag(meta, 'audio');
  const publishing = own.includes('<publishing/>');
  return {
    app,
    stream: tag(own, 'name') ?? '',
    publishing,
    publisherId: publishing ? (clients.find((c) => c.publishing)?.id ?? null) : null,
    clients,
    video: videoXml
      ? {
          codec: tag(videoXml, 'codec') ?? '',
          width: num(videoXml, 'width'),
          height: num(videoXml, 'height'),
          fps: num(videoXml, 'frame_rate'),
        }
      : null,
    audio: audioXml
      ? { codec: tag(audioXml, 'codec') ?? '', sampleRate: num(audioXml, 'sample_rate'), channels: num(audioXml, 'channels') }
      : null,
    bytesIn: num(own, 'bytes_in'),
    uptimeMs: num(own, 'time'),
  };
}

export function parseRtmpStat(xml: string): EngineStream[] {
  if (!xml.includes('<rtmp>')) throw new Error('not an nginx-rtmp /stat document');
  const out: EngineStream[] = [];
  for (const appXml of blocks(xml, 'application')) {
    const app = tag(appXml.replace(/<live>[\s\S]*<\/live>/, ''), 'name') ?? '';
    for (const streamXml of blocks(appXml, 'stream')) out.push(parseStream(app, streamXml));
  }
  return out;
}
