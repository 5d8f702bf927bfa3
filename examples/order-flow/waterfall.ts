/**
 * Draws a trace tree (tracing.ts) as a waterfall: one row per span, indented
 * by depth, a bar from its start to its end on the trace's time axis. As
 * text for the terminal, and as an SVG file a browser opens.
 */
import type { TraceNode } from './tracing.js';

interface Row {
  node: TraceNode;
  depth: number;
}

function rows(node: TraceNode, depth = 0, out: Row[] = []): Row[] {
  out.push({ node, depth });
  for (const c of node.children) rows(c, depth + 1, out);
  return out;
}

function extent(all: Row[]): number {
  return Math.max(1e-3, ...all.map((r) => r.node.endMs));
}

const label = (r: Row) => `${'  '.repeat(r.depth)}${r.node.linked ? '↪ ' : ''}${r.node.name}`;

/** The waterfall as text lines (bars of `width` characters). */
export function waterfallText(root: TraceNode, width = 40): string[] {
  const all = rows(root);
  const total = extent(all);
  const nameWidth = Math.min(52, Math.max(...all.map((r) => label(r).length)) + 2);
  const lines = [
    `${'span'.padEnd(nameWidth)}${'service'.padEnd(22)}0 ms${`${total.toFixed(1)} ms`.padStart(width - 2)}`,
  ];
  for (const r of all) {
    const from = Math.min(width - 1, Math.floor((r.node.startMs / total) * width));
    const to = Math.max(from + 1, Math.min(width, Math.ceil((r.node.endMs / total) * width)));
    const bar = ' '.repeat(from) + (r.node.linked ? '▒' : '█').repeat(to - from) + ' '.repeat(width - to);
    const ms = (r.node.endMs - r.node.startMs).toFixed(2).padStart(8);
    const note = r.node.note === '' ? '' : `  ${r.node.note}`;
    lines.push(
      `${label(r)
        .slice(0, nameWidth - 1)
        .padEnd(nameWidth)}${r.node.service.padEnd(22)}|${bar}|${ms} ms${note}`,
    );
  }
  return lines;
}

const PALETTE = [
  '#4e79a7',
  '#f28e2b',
  '#59a14f',
  '#e15759',
  '#b07aa1',
  '#76b7b2',
  '#edc948',
  '#9c755f',
  '#ff9da7',
];

function xmlText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** The waterfall as a standalone SVG document. */
export function waterfallSvg(root: TraceNode, title: string): string {
  const all = rows(root);
  const total = extent(all);
  const services = [...new Set(all.map((r) => r.node.service))];
  const color = (s: string) => PALETTE[services.indexOf(s) % PALETTE.length]!;
  const rowH = 24;
  const top = 70;
  const barX = 560;
  const barW = 520;
  const width = barX + barW + 110;
  const height = top + all.length * rowH + 30 + Math.ceil(services.length / 4) * 20;
  const x = (t: number) => barX + (t / total) * barW;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="ui-monospace, Menlo, Consolas, monospace" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="12" y="24" font-size="15" font-weight="bold">${xmlText(title)}</text>`,
    `<text x="12" y="44" fill="#555">${all.length} spans, ${total.toFixed(1)} ms; ↪ dashed: a consumer's own trace, linked to the publish</text>`,
  ];
  for (let k = 0; k <= 4; k++) {
    const t = (total * k) / 4;
    out.push(
      `<line x1="${x(t)}" y1="${top - 8}" x2="${x(t)}" y2="${top + all.length * rowH}" stroke="#e5e5e5"/>`,
      `<text x="${x(t)}" y="${top - 12}" fill="#777" text-anchor="middle">${t.toFixed(1)} ms</text>`,
    );
  }
  all.forEach((r, i) => {
    const y = top + i * rowH;
    const c = color(r.node.service);
    if (i % 2 === 1) out.push(`<rect x="0" y="${y}" width="${width}" height="${rowH}" fill="#f7f7f9"/>`);
    out.push(
      `<text x="${12 + r.depth * 14}" y="${y + 16}">${xmlText(`${r.node.linked ? '↪ ' : ''}${r.node.name}`)}</text>`,
      `<text x="${barX - 150}" y="${y + 16}" fill="${c}">${xmlText(r.node.service)}</text>`,
    );
    const bx = x(r.node.startMs);
    const bw = Math.max(2, x(r.node.endMs) - bx);
    const dash = r.node.linked ? ` stroke="${c}" stroke-dasharray="4 2" fill-opacity="0.45"` : '';
    out.push(
      `<rect x="${bx.toFixed(1)}" y="${y + 5}" width="${bw.toFixed(1)}" height="${rowH - 10}" rx="2" fill="${c}"${dash}/>`,
    );
    const note = r.node.note === '' ? '' : ` ${r.node.note}`;
    out.push(
      `<text x="${(bx + bw + 6).toFixed(1)}" y="${y + 16}" fill="#333">${(r.node.endMs - r.node.startMs).toFixed(2)} ms${xmlText(note)}</text>`,
    );
  });
  const legendY = top + all.length * rowH + 24;
  services.forEach((s, i) => {
    const lx = 12 + (i % 4) * 250;
    const ly = legendY + Math.floor(i / 4) * 20;
    out.push(
      `<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${color(s)}"/>`,
      `<text x="${lx + 18}" y="${ly}">${xmlText(s)}</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** The tree without timings, for tests and tools: name, kind, service, linked, children. */
export function treeShape(node: TraceNode): unknown {
  return {
    name: node.name,
    kind: node.kind,
    service: node.service,
    linked: node.linked,
    children: node.children.map(treeShape),
  };
}
