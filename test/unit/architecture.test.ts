// The house's shape, checked over the source's own imports (docs/architecture.md "Floors"): eslint
// holds the floors file by file; what one file cannot see is a cycle between feature folders.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../helpers/stack.js';

const FEATURES = path.join(ROOT, 'server', 'features');

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Feature folder → the feature folders its files import (type-only imports count: they are dependencies too). */
export function featureGraph(featuresDir: string): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const file of sources(featuresDir)) {
    const from = path.relative(featuresDir, file).split(path.sep)[0] as string;
    if (!graph.has(from)) graph.set(from, new Set());
    for (const m of fs.readFileSync(file, 'utf8').matchAll(/from '(\.[^']+)'/g)) {
      const target = path.resolve(path.dirname(file), m[1] as string);
      if (!target.startsWith(featuresDir + path.sep)) continue;
      const to = path.relative(featuresDir, target).split(path.sep)[0] as string;
      if (to !== from) graph.get(from)?.add(to);
    }
  }
  return graph;
}

/** One cycle as a path `a → b → a`, or null. */
export function findCycle(graph: Map<string, Set<string>>): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const trail: string[] = [];
  const visit = (node: string): string[] | null => {
    if (state.get(node) === 'done') return null;
    if (state.get(node) === 'open') return [...trail.slice(trail.indexOf(node)), node];
    state.set(node, 'open');
    trail.push(node);
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    trail.pop();
    state.set(node, 'done');
    return null;
  };
  for (const node of graph.keys()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return null;
}

describe('architecture: the floors of server/', () => {
  it('finds a cycle when there is one (the check can fail)', () => {
    const graph = new Map([
      ['a', new Set(['b'])],
      ['b', new Set(['c'])],
      ['c', new Set(['a'])],
      ['d', new Set(['a'])],
    ]);
    assert.deepEqual(findCycle(graph), ['a', 'b', 'c', 'a']);
    assert.equal(findCycle(new Map([['a', new Set(['b'])]])), null);
  });

  it('feature folders import each other without cycles', () => {
    const graph = featureGraph(FEATURES);
    assert.ok(graph.size >= 10, `read ${graph.size} feature folders`);
    const cycle = findCycle(graph);
    assert.equal(cycle, null, `feature folders import each other in a cycle: ${cycle?.join(' → ')}`);
  });
});
