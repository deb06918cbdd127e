// Prometheus text exposition without a dependency: features register collectors that read their
// live state at scrape time, and histograms for latencies (hook calls, HTTP).
export interface Sample {
  labels?: Record<string, string>;
  value: number;
}

type Collector = () => Sample[] | Promise<Sample[]>;

interface Family {
  name: string;
  help: string;
  type: 'gauge' | 'counter' | 'histogram';
  collect: Collector;
}

const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class Histogram {
  private readonly series = new Map<string, { labels: Record<string, string>; counts: number[]; sum: number; count: number }>();

  constructor(readonly buckets: number[] = DEFAULT_BUCKETS) {}

  observe(seconds: number, labels: Record<string, string> = {}): void {
    const key = JSON.stringify(labels);
    let s = this.series.get(key);
    if (!s) {
      s = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    this.buckets.forEach((b, i) => {
      if (seconds <= b) (s as { counts: number[] }).counts[i] = ((s as { counts: number[] }).counts[i] ?? 0) + 1;
    });
    s.sum += seconds;
    s.count += 1;
  }

  render(name: string): string[] {
    const lines: string[] = [];
    for (const s of this.series.values()) {
      this.buckets.forEach((b, i) => lines.push(`${name}_bucket${labelText({ ...s.labels, le: String(b) })} ${s.counts[i]}`));
      lines.push(`${name}_bucket${labelText({ ...s.labels, le: '+Inf' })} ${s.count}`);
      lines.push(`${name}_sum${labelText(s.labels)} ${s.sum}`);
      lines.push(`${name}_count${labelText(s.labels)} ${s.count}`);
    }
    return lines;
  }
}

function labelText(labels: Record<string, string> | undefined): string {
  const entries = Object.entries(labels ?? {});
  if (!entries.length) return '';
  const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
  return `{${entries.map(([k, v]) => `${k}="${esc(v)}"`).join(',')}}`;
}

export class Metrics {
  private readonly families: Family[] = [];
  private readonly histograms = new Map<string, { help: string; histogram: Histogram }>();

  gauge(name: string, help: string, collect: Collector): void {
    this.families.push({ name, help, type: 'gauge', collect });
  }

  counter(name: string, help: string, collect: Collector): void {
    this.families.push({ name, help, type: 'counter', collect });
  }

  histogram(name: string, help: string, buckets?: number[]): Histogram {
    const existing = this.histograms.get(name);
    if (existing) return existing.histogram;
    const histogram = new Histogram(buckets);
    this.histograms.set(name, { help, histogram });
    return histogram;
  }

  /** Renders every family; a failing collector is reported as a comment, never a failed scrape. */
  async render(): Promise<string> {
    const out: string[] = [];
    for (const f of this.families) {
      out.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`);
      try {
        for (const s of await f.collect()) out.push(`${f.name}${labelText(s.labels)} ${Number.isFinite(s.value) ? s.value : 0}`);
      } catch (err) {
        out.push(`# collector failed: ${(err as Error).message.replace(/\n/g, ' ')}`);
      }
    }
    for (const [name, { help, histogram }] of this.histograms) {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`, ...histogram.render(name));
    }
    return `${out.join('\n')}\n`;
  }
}
