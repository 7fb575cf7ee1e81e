/**
 * The web UI of `tau serve`: one static page, plain HTML, CSS and JavaScript (no framework, no
 * build step, nothing loaded from elsewhere). It holds no data: it calls the API with the token
 * from its URL's fragment (`/#token=...`, which browsers never send to a server), kept in the
 * tab's sessionStorage. Markdown is rendered by a small renderer that escapes all HTML first.
 *
 * Kept as a string in a module so that the bundled `tau` and the compiled package carry it without
 * copying assets. (No backticks or dollar-brace inside: the script builds strings with `+`.)
 */
export const WEB_UI_HTML = String.raw`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tau</title>
<style>
  :root { color-scheme: light dark; --bg: #f7f7f5; --panel: #ffffff; --fg: #1d1d1f; --dim: #6b6b70; --line: #deded9; --accent: #3557d4; --warn: #a05a00; --bad: #b3261e; --good: #1b7a3a; }
  @media (prefers-color-scheme: dark) { :root { --bg: #17181a; --panel: #1f2023; --fg: #e8e8ea; --dim: #9a9aa2; --line: #34353a; --accent: #8aa4ff; --warn: #f0a640; --bad: #ff7b72; --good: #5fd47e; } }
  * { box-sizing: border-box; }
  body { margin: 0; font: 15px/1.5 system-ui, sans-serif; background: var(--bg); color: var(--fg); display: flex; height: 100vh; }
  aside { width: 270px; border-right: 1px solid var(--line); display: flex; flex-direction: column; background: var(--panel); }
  aside header { padding: 12px; display: flex; gap: 8px; align-items: center; border-bottom: 1px solid var(--line); }
  aside h1 { font-size: 18px; margin: 0; flex: 1; }
  #sessions { list-style: none; margin: 0; padding: 0; overflow: auto; flex: 1; }
  #sessions li { padding: 10px 12px; border-bottom: 1px solid var(--line); cursor: pointer; }
  #sessions li.active { background: color-mix(in srgb, var(--accent) 15%, transparent); }
  #sessions .meta { color: var(--dim); font-size: 12px; }
  main { flex: 1; display: flex; flex-direction: column; min-width: 0; }
  #top { padding: 10px 16px; border-bottom: 1px solid var(--line); display: flex; gap: 12px; align-items: center; }
  #title { flex: 1; font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  #status { color: var(--dim); font-size: 13px; }
  #log { flex: 1; overflow: auto; padding: 16px; }
  .msg { max-width: 900px; margin: 0 auto 14px; padding: 10px 14px; border-radius: 10px; background: var(--panel); border: 1px solid var(--line); overflow-wrap: anywhere; }
  .msg.user { background: color-mix(in srgb, var(--accent) 10%, var(--panel)); }
  .msg .who { font-size: 12px; color: var(--dim); margin-bottom: 4px; }
  .msg.note { color: var(--dim); font-size: 13px; white-space: pre-wrap; font-family: ui-monospace, monospace; }
  .msg.error { color: var(--bad); }
  .tool { border-left: 3px solid var(--accent); }
  .tool pre, .msg pre { background: color-mix(in srgb, var(--fg) 6%, transparent); padding: 8px; border-radius: 6px; overflow: auto; max-height: 320px; font-size: 13px; }
  .tool .name { font-family: ui-monospace, monospace; font-weight: 600; }
  .tool.failed { border-left-color: var(--bad); }
  .question { border: 2px solid var(--warn); }
  .question .buttons { display: flex; gap: 8px; flex-wrap: wrap; margin-top: 8px; }
  .question .field { margin: 8px 0; display: flex; flex-direction: column; gap: 2px; }
  .question .field label { font-weight: 600; }
  .question .field .hint { color: var(--dim); font-size: 12px; }
  .question .field input:not([type=checkbox]), .question .field select { font: inherit; padding: 4px 6px; border-radius: 6px; border: 1px solid var(--line); background: var(--bg); color: var(--fg); max-width: 420px; }
  .question .field .choices label { font-weight: normal; margin-right: 10px; }
  .question .problem { color: var(--bad); }
  button { font: inherit; padding: 6px 12px; border-radius: 6px; border: 1px solid var(--line); background: var(--panel); color: var(--fg); cursor: pointer; }
  button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
  button.danger { color: var(--bad); }
  form#composer { display: flex; gap: 8px; padding: 12px 16px; border-top: 1px solid var(--line); background: var(--panel); }
  #input { flex: 1; font: inherit; padding: 8px; border-radius: 6px; border: 1px solid var(--line); background: var(--bg); color: var(--fg); resize: vertical; min-height: 42px; }
  #auth { max-width: 460px; margin: 80px auto; padding: 20px; }
  code { font-family: ui-monospace, monospace; font-size: 0.92em; }
</style>
</head>
<body>
<aside>
  <header><h1>tau</h1><button id="new" class="primary" type="button">New session</button></header>
  <ul id="sessions" aria-label="sessions"></ul>
</aside>
<main>
  <div id="top"><div id="title">No session</div><div id="status"></div><button id="abort" class="danger" type="button" disabled>Abort</button></div>
  <div id="log" aria-live="polite"></div>
  <form id="composer"><textarea id="input" placeholder="Ask tau… (/help lists the commands)" rows="2"></textarea><button class="primary" id="send" type="submit">Send</button></form>
</main>
<script>
(function () {
  'use strict';
  var BT = '\x60';
  var token = '';
  var hash = new URLSearchParams(location.hash.slice(1));
  if (hash.get('token')) { token = hash.get('token'); sessionStorage.setItem('tau-token', token); history.replaceState(null, '', location.pathname); }
  else token = sessionStorage.getItem('tau-token') || '';

  var $ = function (id) { return document.getElementById(id); };
  var log = $('log');
  var current = null;
  var stream = null;
  var assistant = null;
  var tools = {};
  var questions = {};

  function el(tag, cls, text) { var e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; }
  function escapeHtml(s) { return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;'); }

  // A small Markdown renderer: HTML is escaped first, then code, emphasis, links (http/https only), lists, headings.
  function inline(s) {
    var parts = s.split(BT);
    var out = '';
    for (var i = 0; i < parts.length; i++) {
      if (i % 2 === 1 && i < parts.length - 1) { out += '<code>' + parts[i] + '</code>'; continue; }
      var t = parts[i];
      if (i % 2 === 1) t = BT + t;
      t = t.replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>').replace(/(^|[^*])\*([^*\s][^*]*)\*/g, '$1<em>$2</em>');
      t = t.replace(/\[([^\]]+)\]\((https?:\/\/[^\s)]+)\)/g, function (_m, label, href) { return '<a href="' + href + '" rel="noopener noreferrer" target="_blank">' + label + '</a>'; });
      out += t;
    }
    return out;
  }
  function markdown(src) {
    var lines = escapeHtml(src).split('\n');
    var html = '';
    var list = null;
    var para = [];
    function flush() { if (para.length) { html += '<p>' + inline(para.join(' ')) + '</p>'; para = []; } if (list) { html += '</' + list + '>'; list = null; } }
    for (var i = 0; i < lines.length; i++) {
      var line = lines[i];
      if (line.indexOf(BT + BT + BT) === 0) {
        flush();
        var code = [];
        for (i++; i < lines.length && lines[i].indexOf(BT + BT + BT) !== 0; i++) code.push(lines[i]);
        html += '<pre><code>' + code.join('\n') + '</code></pre>';
        continue;
      }
      var h = /^(#{1,4})\s+(.*)$/.exec(line);
      if (h) { flush(); html += '<h' + (h[1].length + 2) + '>' + inline(h[2]) + '</h' + (h[1].length + 2) + '>'; continue; }
      var li = /^\s*(?:[-*]|(\d+)\.)\s+(.*)$/.exec(line);
      if (li) {
        if (para.length) { html += '<p>' + inline(para.join(' ')) + '</p>'; para = []; }
        var kind = li[1] ? 'ol' : 'ul';
        if (list !== kind) { if (list) html += '</' + list + '>'; html += '<' + kind + '>'; list = kind; }
        html += '<li>' + inline(li[2]) + '</li>';
        continue;
      }
      if (line.trim() === '') { flush(); continue; }
      if (list) { html += '</' + list + '>'; list = null; }
      para.push(line);
    }
    flush();
    return html;
  }

  function api(method, path, body) {
    var init = { method: method, headers: { authorization: 'Bearer ' + token } };
    if (body !== undefined) { init.headers['content-type'] = 'application/json'; init.body = JSON.stringify(body); }
    return fetch(path, init).then(function (res) {
      if (res.status === 204) return null;
      return res.json().then(function (json) { if (!res.ok) { var e = json && json.error ? json.error : { message: res.statusText }; throw new Error(e.message + (e.hint ? ' (' + e.hint + ')' : '')); } return json; });
    });
  }

  function scroll() { log.scrollTop = log.scrollHeight; }
  function note(text, cls) { var d = el('div', 'msg note' + (cls ? ' ' + cls : ''), text); log.appendChild(d); scroll(); return d; }
  function textOfContent(content) { if (typeof content === 'string') return content; return (content || []).filter(function (p) { return p.type === 'text'; }).map(function (p) { return p.text; }).join(''); }
  function userMessage(text) { var d = el('div', 'msg user'); d.appendChild(el('div', 'who', 'you')); var b = el('div'); b.innerHTML = markdown(text); d.appendChild(b); log.appendChild(d); scroll(); }
  function assistantBubble() { var d = el('div', 'msg assistant'); d.appendChild(el('div', 'who', 'tau')); var b = el('div', 'body'); d.appendChild(b); log.appendChild(d); return { box: d, body: b, text: '' }; }
  function assistantText(text) { if (!assistant) assistant = assistantBubble(); assistant.text = text; assistant.body.innerHTML = markdown(text); scroll(); }
  function toolStart(id, name, input) {
    assistant = null;
    var d = el('div', 'msg tool'); d.appendChild(el('span', 'name', name));
    var pre = el('pre', 'input', JSON.stringify(input, null, 2)); d.appendChild(pre);
    var out = el('pre', 'result', '…'); d.appendChild(out);
    log.appendChild(d); tools[id] = { box: d, out: out }; scroll();
  }
  function toolEnd(id, name, result) {
    var t = tools[id]; if (!t) { toolStart(id, name, {}); t = tools[id]; }
    var text = typeof result.content === 'string' ? result.content : (result.content || []).map(function (p) { return p.type === 'text' ? p.text : '[' + p.type + ']'; }).join('\n');
    t.out.textContent = text; if (result.isError) t.box.className = 'msg tool failed'; scroll();
  }

  // An MCP elicitation form from its requested schema (flat: string, number, integer, boolean,
  // single and multiple choice); required fields marked; read() gives the content or what is missing.
  function choicesOf(p) {
    if (!p) return null;
    if (Array.isArray(p.enum)) return p.enum.map(function (v, i) { return { value: v, label: String((p.enumNames && p.enumNames[i]) || v) }; });
    var list = p.oneOf || p.anyOf;
    if (Array.isArray(list) && list.every(function (o) { return o && 'const' in o; })) return list.map(function (o) { return { value: o.const, label: String(o.title || o.const) }; });
    return null;
  }
  function elicitationForm(qid, schema) {
    var props = (schema && schema.properties) || {};
    var required = (schema && schema.required) || [];
    var node = el('div', 'form');
    var fields = [];
    Object.keys(props).forEach(function (name, n) {
      var p = props[name] || {};
      var must = required.indexOf(name) >= 0;
      var id = 'q-' + qid + '-' + n;
      var row = el('div', 'field');
      var label = el('label', null, (p.title || name) + (must ? ' *' : '')); label.htmlFor = id; row.appendChild(label);
      var title = p.title || name;
      var choices = choicesOf(p);
      var itemChoices = p.type === 'array' ? choicesOf(p.items) : null;
      var input, read;
      if (p.type === 'boolean') {
        input = el('input'); input.type = 'checkbox'; input.checked = p.default === true;
        read = function () { return input.checked; };
      } else if (itemChoices) {
        input = el('div', 'choices'); input.setAttribute('role', 'group'); input.setAttribute('aria-label', title);
        var boxes = itemChoices.map(function (c) {
          var l = el('label'); var box = el('input'); box.type = 'checkbox'; box.name = name; box.value = String(c.value);
          box.checked = Array.isArray(p.default) && p.default.indexOf(c.value) >= 0;
          l.appendChild(box); l.appendChild(document.createTextNode(' ' + c.label)); input.appendChild(l); return { box: box, value: c.value };
        });
        read = function () { var picked = boxes.filter(function (b) { return b.box.checked; }).map(function (b) { return b.value; }); return picked.length ? picked : undefined; };
      } else if (choices) {
        input = el('select');
        if (!must || p.default === undefined) { var none = el('option', null, '(none)'); none.value = ''; input.appendChild(none); }
        choices.forEach(function (c, i) { var o = el('option', null, c.label); o.value = String(i); if (p.default === c.value) o.selected = true; input.appendChild(o); });
        read = function () { return input.value === '' ? undefined : choices[Number(input.value)].value; };
      } else if (p.type === 'number' || p.type === 'integer') {
        input = el('input'); input.type = 'number'; input.step = p.type === 'integer' ? '1' : 'any';
        if (typeof p.minimum === 'number') input.min = String(p.minimum);
        if (typeof p.maximum === 'number') input.max = String(p.maximum);
        if (typeof p.default === 'number') input.value = String(p.default);
        read = function () { return input.value.trim() === '' ? undefined : Number(input.value); };
      } else {
        input = el('input');
        input.type = p.format === 'email' ? 'email' : p.format === 'uri' ? 'url' : p.format === 'date' ? 'date' : 'text';
        if (typeof p.default === 'string') input.value = p.default;
        read = function () { return input.value === '' ? undefined : input.value; };
      }
      input.id = id; if (input.tagName !== 'DIV') input.name = name;
      row.appendChild(input);
      if (p.description) row.appendChild(el('div', 'hint', p.description));
      node.appendChild(row);
      fields.push({ name: name, title: title, must: must, p: p, read: read });
    });
    return {
      node: node,
      read: function () {
        var content = {}; var problems = [];
        fields.forEach(function (f) {
          var v = f.read();
          if (v === undefined) { if (f.must) problems.push(f.title + ' is required'); return; }
          if (typeof v === 'number') {
            if (isNaN(v) || (f.p.type === 'integer' && Math.floor(v) !== v)) { problems.push(f.title + ' must be ' + (f.p.type === 'integer' ? 'a whole number' : 'a number')); return; }
            if (typeof f.p.minimum === 'number' && v < f.p.minimum) { problems.push(f.title + ' must be at least ' + f.p.minimum); return; }
            if (typeof f.p.maximum === 'number' && v > f.p.maximum) { problems.push(f.title + ' must be at most ' + f.p.maximum); return; }
          }
          if (typeof v === 'string') {
            if (typeof f.p.minLength === 'number' && v.length < f.p.minLength) { problems.push(f.title + ' needs at least ' + f.p.minLength + ' characters'); return; }
            if (typeof f.p.maxLength === 'number' && v.length > f.p.maxLength) { problems.push(f.title + ' takes at most ' + f.p.maxLength + ' characters'); return; }
          }
          if (Array.isArray(v)) {
            if (typeof f.p.minItems === 'number' && v.length < f.p.minItems) { problems.push(f.title + ': choose at least ' + f.p.minItems); return; }
            if (typeof f.p.maxItems === 'number' && v.length > f.p.maxItems) { problems.push(f.title + ': choose at most ' + f.p.maxItems); return; }
          }
          content[f.name] = v;
        });
        return { content: content, problems: problems };
      },
    };
  }

  function showQuestion(q) {
    if (questions[q.id]) return;
    var d = el('div', 'msg question'); d.dataset.questionId = q.id;
    var buttons = el('div', 'buttons');
    function button(label, answer, cls) { var b = el('button', cls, label); b.type = 'button'; b.addEventListener('click', function () { answerQuestion(q.id, answer); }); buttons.appendChild(b); }
    if (q.kind === 'permission') {
      d.appendChild(el('div', 'who', 'permission'));
      d.appendChild(el('div', null, q.request.toolName + ': ' + q.request.reason));
      d.appendChild(el('pre', null, JSON.stringify(q.request.input, null, 2)));
      button('Allow', 'allow', 'primary'); button('Always allow ' + q.request.suggestedRule, 'allow-always'); button('Deny', 'deny', 'danger');
    } else if (q.kind === 'plan') {
      d.appendChild(el('div', 'who', 'plan approval'));
      var body = el('div'); body.innerHTML = markdown(q.request.plan); d.appendChild(body);
      button('Approve (accept edits)', { decision: 'approve', mode: 'acceptEdits' }, 'primary');
      button('Approve (ask for each edit)', { decision: 'approve', mode: 'default' });
      button('Keep planning', { decision: 'reject', reason: 'the user wants to keep planning' }, 'danger');
    } else if (q.kind === 'elicitation') {
      d.appendChild(el('div', 'who', 'question from ' + q.request.server));
      d.appendChild(el('div', null, q.request.message));
      if (q.request.mode === 'url') { var a = el('a', null, q.request.url); if (/^https?:/.test(q.request.url)) a.href = q.request.url; a.rel = 'noopener noreferrer'; a.target = '_blank'; d.appendChild(a); button('Done', { action: 'accept' }, 'primary'); }
      else {
        var form = elicitationForm(q.id, q.request.requestedSchema); d.appendChild(form.node);
        var problem = el('div', 'problem'); d.appendChild(problem);
        var accept = el('button', 'primary', 'Submit'); accept.type = 'button';
        accept.addEventListener('click', function () { var r = form.read(); if (r.problems.length) { problem.textContent = r.problems.join('; '); return; } problem.textContent = ''; answerQuestion(q.id, { action: 'accept', content: r.content }); });
        buttons.appendChild(accept);
      }
      button('Decline', { action: 'decline' }); button('Cancel', { action: 'cancel' }, 'danger');
    } else if (q.kind === 'sampling') {
      d.appendChild(el('div', 'who', q.request.server + ' asks the model'));
      button('Allow', { action: 'allow' }, 'primary'); button('Deny', { action: 'deny' }, 'danger');
    } else if (q.kind === 'choice') {
      d.appendChild(el('div', 'who', q.title));
      q.options.forEach(function (o) { button(o.label, { value: o.value }); });
      button('Cancel', {}, 'danger');
    } else if (q.kind === 'questions') {
      d.appendChild(el('div', 'who', 'questions'));
      var picks = q.request.questions.map(function (item, i) {
        var f = el('fieldset'); f.appendChild(el('legend', null, (item.header ? item.header + ': ' : '') + item.question));
        var inputs = item.options.map(function (o) {
          var l = el('label'); var c = el('input'); c.type = item.multiSelect ? 'checkbox' : 'radio'; c.name = q.id + '-' + i; c.value = o.label;
          l.appendChild(c); l.appendChild(document.createTextNode(' ' + o.label + (o.description ? ' — ' + o.description : ''))); f.appendChild(l); f.appendChild(el('br')); return c;
        });
        var other = el('input'); other.placeholder = 'or your own answer'; f.appendChild(other); d.appendChild(f);
        return function () { var own = other.value.trim(); if (own) return own; return inputs.filter(function (c) { return c.checked; }).map(function (c) { return c.value; }).join(', '); };
      });
      var submit = el('button', 'primary', 'Answer'); submit.type = 'button';
      submit.addEventListener('click', function () { var answers = {}; q.request.questions.forEach(function (item, i) { var a = picks[i](); if (a) answers[item.question] = a; }); answerQuestion(q.id, { answers: answers }); });
      buttons.appendChild(submit); button('Decline', { declined: true, reason: 'the user declined to answer' }, 'danger');
    }
    d.appendChild(buttons); log.appendChild(d); questions[q.id] = d; scroll();
  }
  function closeQuestion(id) { var d = questions[id]; if (d) { d.remove(); delete questions[id]; } }
  function answerQuestion(id, answer) { api('POST', '/sessions/' + current + '/questions/' + encodeURIComponent(id), { answer: answer }).then(function () { closeQuestion(id); }, function (e) { note(e.message, 'error'); }); }

  function setStatus(status) { $('status').textContent = status; $('abort').disabled = status !== 'running'; document.body.dataset.status = status; }

  function onRecord(r) {
    if (r.type !== 'message') { if (r.type === 'run-start') { assistant = null; } return; }
    var m = r.message;
    if (m.role === 'user') { var t = textOfContent(m.content); if (t) userMessage(t); }
    else if (m.role === 'assistant') {
      var text = textOfContent(m.content); assistant = null; if (text) assistantText(text);
      (m.content || []).forEach(function (p) { if (p.type === 'tool-call') toolStart(p.id, p.name, p.input); });
      assistant = null;
    } else if (m.role === 'tool') { (m.content || []).forEach(function (p) { if (p.type === 'tool-result') toolEnd(p.toolCallId, p.toolName || '', p); }); }
  }
  function onAgent(e) {
    if (e.parentToolCallId) return;
    switch (e.type) {
      case 'user-prompt': userMessage(e.prompt); assistant = null; if ($('title').textContent === current) $('title').textContent = e.prompt.split('\n')[0]; break;
      case 'text-delta': assistantText((assistant ? assistant.text : '') + e.text); break;
      case 'assistant-message': { var text = textOfContent(e.message.content); if (text) assistantText(text); assistant = null; break; }
      case 'tool-start': toolStart(e.id, e.name, e.input); break;
      case 'tool-end': toolEnd(e.id, e.name, e.result); break;
      case 'error': note(e.code + ': ' + e.message, 'error'); break;
      case 'notification': note(e.message); break;
      case 'result': assistant = null; if (e.isError) note('run ended: ' + e.stopReason + (e.error ? ' (' + e.error.message + ')' : ''), 'error'); break;
    }
  }
  function onEvent(name, data) {
    if (name === 'status') { setStatus(data.status); $('title').textContent = data.title || data.id; (data.pending || []).forEach(showQuestion); if (data.status === 'interrupted') showInterrupted(); }
    else if (name === 'record') onRecord(data);
    else if (name === 'agent') onAgent(data);
    else if (name === 'question') showQuestion(data.question);
    else if (name === 'question-closed') closeQuestion(data.id);
    else if (name === 'run-start') setStatus('running');
    else if (name === 'idle') { setStatus('idle'); refreshList(); }
    else if (name === 'run-end' && data.error) note(data.error, 'error');
    else if (name === 'output') note(data.text, data.tone === 'error' ? 'error' : '');
    else if (name === 'session') { note(data.reason); openSession(data.sessionId); }
  }
  function showInterrupted() {
    var d = note('The last run was interrupted (the server stopped during it).');
    var b = el('button', 'primary', 'Continue'); b.type = 'button';
    b.addEventListener('click', function () { api('POST', '/sessions/' + current + '/continue').then(function () { d.remove(); }, function (e) { note(e.message, 'error'); }); });
    d.appendChild(document.createTextNode(' ')); d.appendChild(b);
  }

  // SSE over fetch (EventSource cannot send the Authorization header); resumes after the last id on a drop.
  function follow(id) {
    if (stream) stream.abort();
    var controller = new AbortController(); stream = controller;
    var lastId = null;
    function connect() {
      var headers = { authorization: 'Bearer ' + token, accept: 'text/event-stream' };
      if (lastId !== null) headers['last-event-id'] = lastId;
      fetch('/sessions/' + id + '/events', { headers: headers, signal: controller.signal }).then(function (res) {
        if (!res.ok) return res.json().then(function (j) { note(j.error ? j.error.message : res.statusText, 'error'); });
        var reader = res.body.getReader(); var decoder = new TextDecoder(); var buf = '';
        function pump() {
          return reader.read().then(function (r) {
            if (r.done) return;
            buf += decoder.decode(r.value, { stream: true });
            var at;
            while ((at = buf.indexOf('\n\n')) >= 0) {
              var block = buf.slice(0, at); buf = buf.slice(at + 2);
              var ev = 'message', data = '', evId = null;
              block.split('\n').forEach(function (line) {
                if (line.indexOf('event: ') === 0) ev = line.slice(7);
                else if (line.indexOf('data: ') === 0) data += line.slice(6);
                else if (line.indexOf('id: ') === 0) evId = line.slice(4);
              });
              if (evId !== null) lastId = evId;
              if (data) { try { onEvent(ev, JSON.parse(data)); } catch (err) { note(String(err), 'error'); } }
            }
            return pump();
          });
        }
        return pump();
      }).then(function () { if (!controller.signal.aborted && current === id) setTimeout(connect, 1000); }, function () { if (!controller.signal.aborted && current === id) setTimeout(connect, 1000); });
    }
    connect();
  }

  function openSession(id) {
    current = id; log.textContent = ''; assistant = null; tools = {}; questions = {};
    Array.prototype.forEach.call(document.querySelectorAll('#sessions li'), function (li) { li.classList.toggle('active', li.dataset.id === id); });
    follow(id);
  }
  function refreshList() {
    return api('GET', '/sessions').then(function (res) {
      var ul = $('sessions'); ul.textContent = '';
      res.sessions.forEach(function (s) {
        var li = el('li'); li.dataset.id = s.id; if (s.id === current) li.className = 'active';
        li.appendChild(el('div', null, s.title || '(new session)'));
        li.appendChild(el('div', 'meta', s.status + ' · ' + s.model));
        li.addEventListener('click', function () { openSession(s.id); });
        ul.appendChild(li);
      });
    }, function (e) { note(e.message, 'error'); });
  }

  $('new').addEventListener('click', function () { api('POST', '/sessions', {}).then(function (s) { return refreshList().then(function () { openSession(s.id); }); }, function (e) { note(e.message, 'error'); }); });
  $('abort').addEventListener('click', function () { if (current) api('POST', '/sessions/' + current + '/abort').catch(function (e) { note(e.message, 'error'); }); });
  $('composer').addEventListener('submit', function (ev) {
    ev.preventDefault(); var text = $('input').value; if (!text.trim()) return;
    var send = function (id) { return api('POST', '/sessions/' + id + '/prompt', { text: text }).then(function () { $('input').value = ''; }); };
    (current ? send(current) : api('POST', '/sessions', {}).then(function (s) { openSession(s.id); return send(s.id); })).catch(function (e) { note(e.message, 'error'); });
  });
  $('input').addEventListener('keydown', function (ev) { if (ev.key === 'Enter' && !ev.shiftKey) { ev.preventDefault(); $('composer').requestSubmit(); } });

  if (!token) {
    log.innerHTML = '<div id="auth" class="msg">Open the address <code>tau serve</code> printed, with <code>#token=</code> and the token from <code>$TAU_HOME/serve/token</code>.</div>';
  } else refreshList();
})();
</script>
</body>
</html>
`
