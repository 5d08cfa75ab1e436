"""The report page's style sheet (inlined into the page: nothing is loaded from elsewhere)."""

CSS = """
:root{--ink:#1f2937;--muted:#6b7280;--line:#e5e7eb;--bg:#f8fafc;--card:#fff;--good:#166534;--good-bg:#dcfce7;
--bad:#991b1b;--bad-bg:#fee2e2;--accent:#2563eb}
*{box-sizing:border-box}
body{margin:0;padding:24px 28px 40px;background:var(--bg);color:var(--ink);
font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
a{color:var(--accent)}
h1{font-size:22px;margin:0 0 6px}
h1 .branch{font-weight:500;color:var(--accent)}
h2{font-size:17px;margin:0 0 8px}
h3{font-size:14.5px;margin:18px 0 8px}
h3 .muted{font-weight:400;font-size:12.5px}
header,section{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:16px 20px;
margin:0 auto 18px;max-width:1210px}
.muted{color:var(--muted)}
.latest{font-size:15px;margin:4px 0 10px}
.latest .msg{margin-left:4px}
dl{display:flex;flex-wrap:wrap;gap:4px 22px;margin:8px 0}
dl div{display:flex;gap:6px}
dt{color:var(--muted)}
dd{margin:0;font-weight:500}
.badge{display:inline-block;padding:0 7px;border-radius:9px;font-size:12px;font-weight:600;vertical-align:1px}
.badge.ok{background:var(--good-bg);color:var(--good)}
.badge.bad{background:var(--bad-bg);color:var(--bad)}
.badge.neutral{background:#e5e7eb;color:#374151}
.alert{background:var(--bad-bg);color:var(--bad);border-radius:6px;padding:6px 10px;margin:8px 0}
table.compare{border-collapse:collapse;width:100%;font-size:13px}
.compare th,.compare td{border-bottom:1px solid var(--line);padding:3px 10px;text-align:left;vertical-align:top}
.compare thead th{position:sticky;top:0;background:#f1f5f9;font-weight:600}
.compare td.scenario{max-width:240px;overflow-wrap:anywhere}
.chg.warn{color:#92400e;background:#fef3c7}
.counts .count{margin-right:4px;white-space:nowrap}
ul.missing{margin:4px 0 8px;padding-left:20px;font-size:13px}
.num{text-align:right!important;font-variant-numeric:tabular-nums;white-space:nowrap}
.chg.good{color:var(--good);background:var(--good-bg)}
.chg.bad{color:var(--bad);background:var(--bad-bg)}
.chg.info,.chg.same{color:var(--muted)}
span.chg{border-radius:4px;padding:0 4px;white-space:nowrap}
.series{border-top:1px solid var(--line);margin-top:14px}
.series:first-of-type{border-top:0}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(370px,1fr));gap:10px 14px}
figure.plot{margin:0;border:1px solid var(--line);border-radius:8px;padding:8px 8px 2px;background:#fff}
figure.plot svg{width:100%;height:auto;display:block}
figcaption{font-size:12.5px;margin-bottom:2px}
figure.movers{max-width:900px;margin:6px 0 4px}
.reports{margin:4px 0 8px}
figcaption .muted{font-size:11.5px}
.now{font-weight:600;margin-left:4px}
.legend{margin-left:8px;white-space:nowrap}
.legend i{display:inline-block;width:14px;height:0;border-top:2px solid #2563eb;vertical-align:middle;
margin:0 3px 0 6px}
.legend i.l90{border-top:1.5px solid #60a5fa}
.legend i.l99{border-top:1.5px dashed #93c5fd}
details summary{cursor:pointer;color:var(--accent);margin:8px 0}
.wide{overflow-x:auto}
.wide svg{width:100%;height:auto;min-width:800px;display:block}
.phases{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:12px;color:var(--muted)}
.swatch i{display:inline-block;width:12px;height:12px;border:1px solid #cbd5e1;border-radius:2px;
vertical-align:-2px;margin-right:4px}
.failure{border-left:3px solid #dc2626;padding:4px 12px;margin:10px 0;background:#fffafa}
.failure p{margin:4px 0}
.reason{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px;white-space:pre-wrap;
word-break:break-word}
pre{background:#0f172a;color:#e2e8f0;padding:10px 12px;border-radius:6px;overflow:auto;max-height:320px;
white-space:pre-wrap;word-break:break-word;margin:4px 0 8px}
footer{max-width:1210px;margin:0 auto;color:var(--muted);font-size:12px}
"""
