/**
 * Renders a comparison results JSON as an SVG bar chart: one panel per workload, with the
 * throughput of ours, the reference and raw PostgreSQL on the panel's own linear scale, and
 * the ratios written next to it. No dependencies.
 *
 *   tsx bench/compare/render-svg.ts results.json chart.svg
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { CompareResults, Measurement, WorkloadResult } from './results.js';

const COLORS = { ours: '#2563eb', reference: '#ea8a0c', raw: '#9ca3af' } as const;
const WIDTH = 960;
const LABEL_W = 150;
const BAR_X = LABEL_W + 10;
const BAR_MAX = 460;
const RATIO_X = BAR_X + BAR_MAX + 130;
const BAR_H = 20;
const BAR_GAP = 6;
const PANEL_TITLE_H = 26;
const PANEL_GAP = 22;

function esc(s: string): string {
  return s
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return 'n/a';
  if (n >= 100) return Math.round(n).toLocaleString('en-US');
  return n.toFixed(1);
}

function fmtRatio(n: number): string {
  if (!Number.isFinite(n)) return 'n/a';
  return `${n >= 10 ? n.toFixed(1) : n.toFixed(2)}×`;
}

function text(
  x: number,
  y: number,
  s: string,
  attrs: { size?: number; weight?: string; fill?: string; anchor?: string } = {},
): string {
  return `<text x="${x}" y="${y}" font-size="${attrs.size ?? 13}"${attrs.weight ? ` font-weight="${attrs.weight}"` : ''} fill="${attrs.fill ?? '#111827'}"${attrs.anchor ? ` text-anchor="${attrs.anchor}"` : ''}>${esc(s)}</text>`;
}

/** A zigzag across a bar, marking it as cut (off the panel's scale). */
function breakMark(x: number, y: number): string {
  const h = BAR_H;
  return `<path d="M${x} ${y - 2} l6 ${h / 2 + 2} l-6 ${h / 2 + 2}" stroke="#ffffff" stroke-width="3" fill="none"/>
<path d="M${x + 7} ${y - 2} l6 ${h / 2 + 2} l-6 ${h / 2 + 2}" stroke="#ffffff" stroke-width="3" fill="none"/>`;
}

function panel(w: WorkloadResult, y0: number, repeats: number): { svg: string; height: number } {
  const parts: string[] = [];
  const rows: { label: string; key: keyof typeof COLORS; m: Measurement | undefined }[] = [
    { label: 'ours (G1 mount)', key: 'ours', m: w.ours },
    { label: 'go-oversync reference', key: 'reference', m: w.reference },
    { label: 'raw PostgreSQL', key: 'raw', m: w.raw },
  ];
  // The scale is set by the two servers, so their bars stay comparable; raw PostgreSQL,
  // usually far ahead, is cut with a break mark when it does not fit.
  const servers = Math.max(w.ours.best, w.reference?.best ?? 0, 1e-9);
  const max = w.raw.best <= servers * 1.6 ? Math.max(servers, w.raw.best) : servers * 1.25;
  parts.push(text(16, y0 + 17, `${w.title}`, { size: 15, weight: '600' }));
  parts.push(
    text(
      WIDTH - 16,
      y0 + 17,
      `${w.unit}, higher is better${repeats > 1 ? `, best of ${repeats}` : ''}`,
      { size: 12, fill: '#6b7280', anchor: 'end' },
    ),
  );
  let y = y0 + PANEL_TITLE_H;
  for (const r of rows) {
    parts.push(text(LABEL_W, y + 15, r.label, { size: 12, fill: '#374151', anchor: 'end' }));
    if (!r.m) {
      parts.push(
        `<rect x="${BAR_X}" y="${y}" width="${BAR_MAX}" height="${BAR_H}" fill="none" stroke="#d1d5db" stroke-dasharray="4 3"/>`,
      );
      parts.push(text(BAR_X + 8, y + 15, 'not measured', { size: 12, fill: '#9ca3af' }));
    } else {
      const cut = r.m.best > max;
      const wBar = Math.max(2, (Math.min(r.m.best, max) / max) * BAR_MAX);
      parts.push(
        `<rect x="${BAR_X}" y="${y}" width="${wBar.toFixed(1)}" height="${BAR_H}" rx="3" fill="${COLORS[r.key]}"/>`,
      );
      if (cut) parts.push(breakMark(BAR_X + wBar - 40, y));
      const spread = repeats > 1 && r.m.median !== r.m.best ? ` (median ${fmt(r.m.median)})` : '';
      const errors = r.m.detail.errors ?? 0;
      parts.push(
        text(BAR_X + wBar + 6, y + 15, `${fmt(r.m.best)}${spread}${cut ? ' (bar cut)' : ''}`, {
          size: 12,
          weight: r.key === 'ours' ? '600' : undefined,
        }),
      );
      if (errors > 0) {
        const users = r.m.detail.users ?? 0;
        parts.push(
          text(
            BAR_X + wBar + 6 + 9 * fmt(r.m.best).length + 8,
            y + 15,
            `${errors} of ${users} failed`,
            {
              size: 12,
              weight: '700',
              fill: '#b91c1c',
            },
          ),
        );
      }
    }
    y += BAR_H + BAR_GAP;
  }
  const midY = y0 + PANEL_TITLE_H + 15;
  const vsRef = w.reference ? w.ours.best / w.reference.best : Number.NaN;
  const ofRaw = w.ours.best / w.raw.best;
  const better = Number.isFinite(vsRef) && vsRef >= 1;
  parts.push(
    text(RATIO_X, midY, w.reference ? `ours / ref ${fmtRatio(vsRef)}` : 'ours / ref n/a', {
      size: 15,
      weight: '700',
      fill: w.reference ? (better ? '#15803d' : '#b91c1c') : '#9ca3af',
    }),
  );
  parts.push(
    text(RATIO_X, midY + 22, `ours = ${(ofRaw * 100).toFixed(1)}% of raw PG`, {
      size: 12,
      fill: '#374151',
    }),
  );
  if (w.reference) {
    parts.push(
      text(
        RATIO_X,
        midY + 40,
        `ref = ${((w.reference.best / w.raw.best) * 100).toFixed(1)}% of raw PG`,
        { size: 12, fill: '#6b7280' },
      ),
    );
  }
  return { svg: parts.join('\n'), height: y - y0 + PANEL_GAP };
}

/** The chart for a results document. */
export function renderSvg(results: CompareResults): string {
  const parts: string[] = [];
  const m = results.machine;
  parts.push(
    text(16, 28, 'Sync server throughput: ours (G1) vs go-oversync reference vs raw PostgreSQL', {
      size: 18,
      weight: '700',
    }),
  );
  parts.push(
    text(
      16,
      48,
      `${results.date} · ${m.cpu}, ${m.cores} cores, ${m.ramGiB} GiB · Node ${m.node} · ${m.postgres.split(' on ')[0]}`,
      { size: 11, fill: '#6b7280' },
    ),
  );
  parts.push(
    text(
      16,
      63,
      `pg pools: ours ${results.config.oursPool}, reference ${results.config.referencePool} · same client for both (interop/g1-client.ts)`,
      { size: 11, fill: '#6b7280' },
    ),
  );
  let lx = 16;
  for (const [key, label] of [
    ['ours', 'ours'],
    ['reference', results.reference.measured ? 'reference' : 'reference (not measured)'],
    ['raw', 'raw PostgreSQL'],
  ] as const) {
    parts.push(`<rect x="${lx}" y="74" width="12" height="12" rx="2" fill="${COLORS[key]}"/>`);
    parts.push(text(lx + 17, 84, label, { size: 12, fill: '#374151' }));
    lx += 30 + label.length * 7;
  }
  parts.push(
    text(WIDTH - 16, 84, 'longer bar = faster; each panel has its own scale', {
      size: 11,
      fill: '#6b7280',
      anchor: 'end',
    }),
  );
  let y = 102;
  for (const w of results.workloads) {
    const p = panel(w, y, results.config.repeats);
    parts.push(p.svg);
    parts.push(
      `<line x1="16" y1="${y + p.height - PANEL_GAP / 2}" x2="${WIDTH - 16}" y2="${y + p.height - PANEL_GAP / 2}" stroke="#e5e7eb"/>`,
    );
    y += p.height;
  }
  const height = y + 4;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif" role="img">
<title>Sync server throughput: ours (G1) vs go-oversync reference vs raw PostgreSQL</title>
<rect width="100%" height="100%" fill="#ffffff"/>
${parts.join('\n')}
</svg>
`;
}

/** Writes the chart of `jsonPath` to `svgPath`. */
export function renderSvgFile(jsonPath: string, svgPath: string): void {
  const results = JSON.parse(readFileSync(jsonPath, 'utf8')) as CompareResults;
  writeFileSync(svgPath, renderSvg(results));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [input, output] = process.argv.slice(2);
  if (!input || !output) {
    process.stderr.write('usage: tsx bench/compare/render-svg.ts results.json chart.svg\n');
    process.exit(2);
  }
  renderSvgFile(input, output);
}
