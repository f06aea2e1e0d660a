"""The report page's style sheet, inline in the page: nothing is fetched."""

CSS = """
:root { --fg: #1d2433; --muted: #5f6b7a; --line: #d8dde5; --bg2: #f5f7fa;
        --bad: #c62828; --good: #2e7d32; --warn: #8a5a00; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: var(--fg); margin: 0 auto; padding: 1.5rem 2rem 4rem; max-width: 1400px; }
h1 { font-size: 1.6rem; margin: 0 0 .2rem; }
h2 { font-size: 1.3rem; margin: 2.5rem 0 .3rem; padding-top: .8rem;
     border-top: 2px solid var(--line); }
h3 { font-size: 1.05rem; margin: 1.6rem 0 .4rem; }
.muted, .note { color: var(--muted); }
code, pre { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace;
            font-size: 12.5px; }
pre { background: var(--bg2); padding: .7rem 1rem; border-radius: 6px; overflow-x: auto; }
nav ul { columns: 3 16rem; padding-left: 1.2rem; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: .4rem 0 1rem; }
th, td { border-bottom: 1px solid var(--line); padding: .25rem .6rem; text-align: left;
         vertical-align: top; }
th { background: var(--bg2); font-weight: 600; white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td .spread { display: block; color: var(--muted); font-size: 11.5px; }
tr.differs td { background: #fff6e0; }
tr.notok td { background: #fdecec; }
tr.detail td { background: #fff8f8; font-size: 12.5px; }
td.regression { outline: 2px solid var(--bad); outline-offset: -2px; }
.badge { display: inline-block; padding: 0 .45rem; border-radius: 9px; font-size: 12px;
         font-weight: 600; background: var(--bg2); }
.badge.ok, .badge.good { background: #e3f4e4; color: var(--good); }
.badge.bad { background: #fde2e2; color: var(--bad); }
.badge.warn { background: #fff1d6; color: var(--warn); }
.verdict.bad { color: var(--bad); font-weight: 600; }
.verdict.good { color: var(--good); font-weight: 600; }
.verdict a { color: inherit; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(440px, 1fr));
          gap: 1rem; }
figure.chart { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: .4rem; }
figure.chart svg { width: 100%; height: auto; display: block; }
figure.chart svg text { font-family: "DejaVu Sans", Verdana, Arial, sans-serif; }
figcaption { font-size: 12px; color: var(--muted); padding: .2rem .3rem 0; }
details summary { cursor: pointer; color: var(--muted); }
details.more > summary { font-size: 1.05rem; margin: 1.2rem 0 .4rem; }
ul.constant { columns: 2 22rem; padding-left: 1.2rem; }
@media print { h2 { break-before: page; } figure.chart { break-inside: avoid; } }
"""
