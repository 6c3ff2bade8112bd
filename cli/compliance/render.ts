// Renderers of a compliance report: Markdown, self-contained HTML (every value escaped), JSON.
import type { Report } from './report.js';

// Ledger text is hostile: in a cell, `|` would split the row and inline HTML would be rendered by most
// Markdown viewers; a backslash before `<` (CommonMark §2.4) keeps it a plain character.
const mdCell = (v: string | number) =>
  String(v).replaceAll('\\', '\\\\').replaceAll('<', '\\<').replaceAll('|', '\\|').replace(/\r?\n/g, ' ');

export function toMarkdown(r: Report): string {
  const out: string[] = [
    '# gavel compliance report',
    '',
    `Generated ${r.generated_at} from \`${r.ledger.path}\`: ${r.ledger.entries} entries` +
      (r.ledger.first ? ` (${r.ledger.first} .. ${r.ledger.last})` : '') +
      (r.ledger.head ? `, head \`${r.ledger.head}\`` : '') +
      '.',
    '',
    `**${r.summary.ok ? 'PASS' : 'FAIL'}** — ${r.summary.pass} PASS, ${r.summary.fail} FAIL, ${r.summary.info} INFO.`,
  ];
  for (const s of r.sections) {
    out.push('', `## ${s.title}`, '');
    if (s.table !== undefined && s.table.rows.length > 0) {
      out.push(
        `| ${s.table.header.map(mdCell).join(' | ')} |`,
        `|${s.table.header.map(() => ' --- |').join('')}`,
      );
      for (const row of s.table.rows) out.push(`| ${row.map(mdCell).join(' | ')} |`);
      out.push('');
    }
    if (s.checks.length === 0) out.push('None.');
    else {
      out.push('| check | result | detail |', '| --- | --- | --- |');
      for (const c of s.checks) out.push(`| ${mdCell(c.check)} | ${c.status} | ${mdCell(c.detail)} |`);
    }
  }
  return `${out.join('\n')}\n`;
}

const esc = (v: string | number) =>
  String(v).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );

// Explorer links become links; only plain http(s) URLs, so ledger text cannot smuggle a javascript: one.
const cell = (v: string | number) =>
  typeof v === 'string' && /^https?:\/\/[^\s"'<>]+$/.test(v)
    ? `<a href="${esc(v)}" rel="noreferrer noopener">${esc(v)}</a>`
    : esc(v);

export function toHtml(r: Report): string {
  const parts: string[] = [
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>gavel compliance report</title>',
    '<style>body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1f2328}table{border-collapse:collapse;margin:8px 0 16px}',
    'th,td{border:1px solid #d0d7de;padding:3px 8px;text-align:left;vertical-align:top}.PASS{color:#1a7f37;font-weight:600}',
    '.FAIL{color:#cf222e;font-weight:600}.INFO{color:#656d76}</style></head><body>',
    '<h1>gavel compliance report</h1>',
    `<p>Generated ${esc(r.generated_at)} from <code>${esc(r.ledger.path)}</code>: ${r.ledger.entries} entries${r.ledger.head ? `, head <code>${esc(r.ledger.head)}</code>` : ''}.</p>`,
    `<p class="${r.summary.ok ? 'PASS' : 'FAIL'}">${r.summary.ok ? 'PASS' : 'FAIL'}: ${r.summary.pass} PASS, ${r.summary.fail} FAIL, ${r.summary.info} INFO</p>`,
  ];
  for (const s of r.sections) {
    parts.push(`<h2 id="${esc(s.id)}">${esc(s.title)}</h2>`);
    if (s.table !== undefined && s.table.rows.length > 0) {
      parts.push(`<table><tr>${s.table.header.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>`);
      for (const row of s.table.rows)
        parts.push(`<tr>${row.map((c) => `<td>${cell(c)}</td>`).join('')}</tr>`);
      parts.push('</table>');
    }
    if (s.checks.length === 0) parts.push('<p>None.</p>');
    else {
      parts.push('<table><tr><th>check</th><th>result</th><th>detail</th></tr>');
      for (const c of s.checks)
        parts.push(
          `<tr><td>${esc(c.check)}</td><td class="${c.status}">${c.status}</td><td>${esc(c.detail)}</td></tr>`,
        );
      parts.push('</table>');
    }
  }
  parts.push('</body></html>');
  return `${parts.join('\n')}\n`;
}

export function toJson(r: Report): string {
  return `${JSON.stringify(r, null, 2)}\n`;
}
