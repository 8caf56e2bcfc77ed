/**
 * V8 CPU profile of one benchmark phase (BENCH_CPUPROF=1), via the inspector, summarised
 * as self time per source area and per function. Idle time is left out.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export class PhaseProfiler {
  readonly #session = new Session();

  async start(): Promise<void> {
    this.#session.connect();
    await this.#session.post('Profiler.enable');
    await this.#session.post('Profiler.setSamplingInterval', { interval: 200 });
    await this.#session.post('Profiler.start');
  }

  async stop(file: string): Promise<Profile> {
    const { profile } = (await this.#session.post('Profiler.stop')) as { profile: Profile };
    this.#session.disconnect();
    writeFileSync(file, JSON.stringify(profile));
    return profile;
  }
}

function area(url: string, fn: string): string {
  if (url === '') return `(native) ${fn || '(anonymous)'}`;
  const u = url.replace(/^file:\/\/\/.*?\/(packages|node_modules)\//, '$1/');
  if (u.startsWith('node_modules/')) return u.split('/').slice(0, 2).join('/');
  if (u.startsWith('packages/')) return u.split('/').slice(0, 4).join('/').replace(/\.ts$/, '');
  if (u.startsWith('node:')) return u.split('/')[0] as string;
  return u;
}

/** Self time (ms) per area and per function, largest first. */
export function summarise(
  profile: Profile,
  top = 15,
): { total: number; areas: [string, number][]; functions: [string, number][] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (const [i, id] of profile.samples.entries()) {
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const areas = new Map<string, number>();
  const fns = new Map<string, number>();
  let total = 0;
  for (const [id, us] of self) {
    const n = byId.get(id);
    if (!n) continue;
    const { functionName, url, lineNumber } = n.callFrame;
    if (functionName === '(idle)' || functionName === '(program)') continue;
    total += us;
    const a = area(url, functionName);
    areas.set(a, (areas.get(a) ?? 0) + us);
    const f =
      `${functionName || '(anonymous)'} ${url ? `${url.split('/').at(-1)}:${lineNumber + 1}` : ''}`.trim();
    fns.set(f, (fns.get(f) ?? 0) + us);
  }
  const sorted = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, v]) => [k, v / 1000] as [string, number]);
  return { total: total / 1000, areas: sorted(areas), functions: sorted(fns) };
}
