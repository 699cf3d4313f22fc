/**
 * The one style sheet of the web pages, served from the app itself (CSP style-src 'self': no
 * inline styles, no external assets). Plain, readable, works without JavaScript.
 */
export const STYLE_CSS = `
:root { --fg: #1d2330; --muted: #5b6475; --line: #d9dee7; --bg: #f5f7fa; --card: #fff;
  --accent: #1f5fae; --accent-dark: #184b8a; --ok: #1d7a45; --ok-bg: #e8f5ee; --err: #a32020; --err-bg: #fbeaea;
  --warn: #8a5a00; --warn-bg: #fff5df; }
* { box-sizing: border-box; }
html { font-size: 15px; }
body { margin: 0; font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--fg); background: var(--bg); line-height: 1.45; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
header.top { background: #1c2b43; color: #fff; display: flex; align-items: center; gap: 1.5rem; padding: 0 1.5rem; height: 3.2rem; }
header.top .brand { font-weight: 700; letter-spacing: .02em; font-size: 1.1rem; color: #fff; }
header.top .brand span { color: #8fb8ef; font-weight: 400; }
header.top .who { margin-left: auto; display: flex; align-items: center; gap: .8rem; font-size: .9rem; color: #c9d6ea; }
header.top form { margin: 0; }
header.top button { background: transparent; border: 1px solid #5d7599; color: #fff; padding: .25rem .7rem; }
header.top button:hover { background: #2b3f60; }
.layout { display: flex; min-height: calc(100vh - 3.2rem); }
nav.side { width: 14rem; flex: none; background: #fff; border-right: 1px solid var(--line); padding: 1rem 0; }
nav.side h3 { font-size: .72rem; text-transform: uppercase; letter-spacing: .08em; color: var(--muted); margin: 1rem 1.2rem .3rem; }
nav.side a { display: block; padding: .35rem 1.2rem; color: var(--fg); border-left: 3px solid transparent; }
nav.side a:hover { background: var(--bg); text-decoration: none; }
nav.side a.here { border-left-color: var(--accent); background: #eef3fb; font-weight: 600; }
main { flex: 1; padding: 1.5rem 2rem 3rem; max-width: 72rem; }
h1 { font-size: 1.5rem; margin: 0 0 .3rem; }
h1 small { font-weight: 400; color: var(--muted); font-size: 1rem; }
h2 { font-size: 1.1rem; margin: 0 0 .8rem; }
p.lead { color: var(--muted); margin: 0 0 1.2rem; }
.crumbs { font-size: .85rem; color: var(--muted); margin-bottom: .4rem; }
.tabs { display: flex; gap: .2rem; border-bottom: 1px solid var(--line); margin: .8rem 0 1.2rem; }
.tabs a { padding: .45rem .9rem; border: 1px solid transparent; border-bottom: none; border-radius: 6px 6px 0 0; color: var(--muted); }
.tabs a.here { background: var(--card); border-color: var(--line); color: var(--fg); font-weight: 600; margin-bottom: -1px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 1.2rem 1.4rem; margin-bottom: 1.2rem; }
.flash { border-radius: 6px; padding: .7rem 1rem; margin-bottom: 1rem; border: 1px solid; }
.flash.ok { background: var(--ok-bg); color: var(--ok); border-color: #b9dfc8; }
.flash.error { background: var(--err-bg); color: var(--err); border-color: #efc2c2; }
.flash.warn { background: var(--warn-bg); color: var(--warn); border-color: #f0d9a6; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .5rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: .8rem; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); font-weight: 600; }
tr:last-child td { border-bottom: none; }
table.settings td.label { width: 16rem; font-weight: 600; }
table.settings td.help { color: var(--muted); font-size: .85rem; width: 40%; }
.source { display: inline-block; font-size: .72rem; padding: .05rem .45rem; border-radius: 99px; background: #eef1f6; color: var(--muted); white-space: nowrap; }
.source.account, .source.domain-set, .source.server-set { background: #e3edfb; color: var(--accent-dark); }
.effective { font-size: .82rem; color: var(--muted); margin-top: .25rem; }
input[type=text], input[type=password], input[type=number], select, textarea {
  font: inherit; padding: .4rem .55rem; border: 1px solid #b9c2d0; border-radius: 5px; background: #fff; color: var(--fg); max-width: 100%; }
input[type=text], input[type=password] { width: 22rem; }
textarea { width: 100%; min-height: 5.5rem; font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: .85rem; }
textarea.short { min-height: 3.2rem; width: 22rem; }
input:focus, select:focus, textarea:focus { outline: 2px solid #9cc0f0; outline-offset: 0; border-color: var(--accent); }
button, .button { font: inherit; cursor: pointer; padding: .45rem 1rem; border-radius: 5px; border: 1px solid var(--accent);
  background: var(--accent); color: #fff; display: inline-block; }
button:hover, .button:hover { background: var(--accent-dark); text-decoration: none; }
button.secondary { background: #fff; color: var(--accent); }
button.secondary:hover { background: #eef3fb; }
button.danger { background: #fff; color: var(--err); border-color: #d9a3a3; }
button.danger:hover { background: var(--err-bg); }
.actions { margin-top: 1rem; display: flex; gap: .6rem; align-items: center; flex-wrap: wrap; }
.inline { display: inline; }
.row { display: flex; gap: 1.2rem; flex-wrap: wrap; align-items: flex-end; }
.row label { display: flex; flex-direction: column; gap: .25rem; font-size: .85rem; font-weight: 600; }
.row label input[type=text], .row label input[type=password] { width: 14rem; }
.row label > input, .row label > select { font-weight: 400; font-size: 1rem; }
.row label.check { flex-direction: row; align-self: center; }
form > .actions:last-child { margin-bottom: 1.2rem; }
button:disabled, button:disabled:hover { opacity: .45; cursor: default; background: #fff; }
label.check { display: inline-flex; gap: .35rem; align-items: center; font-size: .85rem; color: var(--muted); font-weight: 400; }
dl.facts { display: grid; grid-template-columns: 12rem 1fr; gap: .35rem 1rem; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; word-break: break-word; }
code, pre { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: .85rem; }
pre { background: #f1f3f7; border: 1px solid var(--line); border-radius: 5px; padding: .7rem; overflow-x: auto; }
.muted { color: var(--muted); }
.badge { display: inline-block; font-size: .75rem; padding: .1rem .5rem; border-radius: 99px; font-weight: 600; }
.badge.ok { background: var(--ok-bg); color: var(--ok); }
.badge.bad { background: var(--err-bg); color: var(--err); }
.badge.warn { background: var(--warn-bg); color: var(--warn); }
.progress { height: .6rem; background: #e4e8ef; border-radius: 99px; overflow: hidden; margin: 1rem 0; }
.progress div { height: 100%; width: 40%; background: var(--accent); }
.login-page { display: flex; align-items: center; justify-content: center; min-height: 100vh; padding: 1rem; }
.login-box { width: 24rem; background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 2rem; box-shadow: 0 4px 18px rgba(20, 30, 50, .08); }
.login-box h1 { font-size: 1.35rem; }
.login-box label { display: block; font-weight: 600; font-size: .9rem; margin: 1rem 0 .3rem; }
.login-box input[type=text], .login-box input[type=password] { width: 100%; }
.login-box button { width: 100%; margin-top: 1.4rem; padding: .6rem; }
.login-box .foot { margin-top: 1.2rem; font-size: .85rem; color: var(--muted); text-align: center; }
table.listeners td { padding: .4rem .3rem; }
table.listeners input[type=text] { width: 8rem; }
table.listeners input[type=number] { width: 5.5rem; }
table.listeners textarea { width: 8.5rem; min-height: 2.4rem; height: 2.4rem; font-size: .8rem; }
main.user { margin: 0 auto; }
.card .grid2 + dl.facts { margin-top: 1rem; }
.card h3 { font-size: .95rem; margin: 1rem 0 .5rem; }
label.check { white-space: nowrap; }
.grid2 { display: grid; grid-template-columns: 1fr 1fr; gap: 1.2rem; }
@media (max-width: 900px) { .grid2 { grid-template-columns: 1fr; } nav.side { display: none; } }
`;
