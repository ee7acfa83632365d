/* dedup editors' report, 2 of 3: the story view.

   A story's page: its outlets table (times, titles, sentence counts, provenance), its text with
   every outlet's changes in the margin or one outlet's version as a word diff against the
   canonical text, and the sentences x outlets matrix, built when first opened. showStory,
   closeStory and display put it in the story pane. Uses report-core.js's helpers and entry
   decoding, and markCurrent from report-list.js. */

/* ---- sentence rows and word diffs ---- */
function wordsChanged(ops) {  // false when only the sentence boundaries (and the spaces at them) differ
  return ops.some(function (op) { return op[0] !== '=' && op[1].trim() !== ''; });
}
function splitCounts(entries) {  // canonical sentence -> the version's sentences holding it (2+: split)
  var n = {};
  entries.forEach(function (e) { if (e.k === 'e') n[e.at] = (n[e.at] || 0) + 1; });
  return n;
}
// what an edited sentence changed: words, boundaries or both; `dedup diff` prints the same words
// (_edit_note in dedup/align/terminal.py)
function editNote(e, changed, n, i) {
  var how = e.also >= 0 ? 'two sentences merged into one' : n > 1 ? 'split in ' + n + ' (part ' + i + ')' : '';
  if (!how) return changed ? 'edited' : 'same words, other sentence boundaries';
  return changed ? 'edited; ' + how : how + ', same words';
}
function section(title) { var s = el('section', 'block'); s.appendChild(el('h3', null, title)); return s; }
function sentenceRow(cls, body, note) {  // note: a string or an element
  return add(el('div', 'sent ' + cls), body, add(el('span', 'margin'), note || null));
}
function wordDiff(ops) {
  var p = ut('span', 'txt');
  ops.forEach(function (op) {
    add(p, op[0] === '+' ? el('ins', null, op[1]) : op[0] === '-' ? el('del', null, op[1])
      : document.createTextNode(op[1]));
  });
  return orient(p);
}
function carriers(d) {  // family id -> indexes of articles that added it
  var m = new Map();
  d.a.forEach(function (art, j) {
    (art.r || []).forEach(function (e) {
      if (e[0] !== 'a' || e[1] === null) return;
      if (!m.has(e[1])) m.set(e[1], []);
      if (m.get(e[1]).indexOf(j) < 0) m.get(e[1]).push(j);
    });
  });
  return m;
}
function names(d, idxs, full) {  // the outlets of articles idxs, each once: [before, names, after, left out]
  var os = [];
  idxs.forEach(function (j) { if (os.indexOf(d.a[j].o) < 0) os.push(d.a[j].o); });
  var all = os.map(outletName), versions = os.length < idxs.length ? ' (' + idxs.length + ' versions)' : '';
  return all.length > 8 && !full ? [all.length + ' outlets' + versions + ': ', all.slice(0, 6), ', …', all.length - 6]
    : ['', all, versions, 0];
}
// [[words, idxs], ...] as "dropped by A, B; edited by C"; over 8 outlets, 6 names and a "+N more" button
// that shows them all (keyboard, touch and print reach them, not only a tooltip)
function byNote(d, parts) {
  var note = el('span'), cut = 0;
  function build(full) {
    var span = el('span', full ? 'names-all' : 'names-short');
    parts.forEach(function (p, x) {
      var n = names(d, p[1], full);
      cut += n[3];
      add(span, x ? '; ' : '', p[0] + n[0], nameList(n[1]), n[2]);
    });
    return span;
  }
  var shortNote = build(false);
  if (!cut) { shortNote.className = 'names-all'; return shortNote; }   // every name: printed too
  var longNote = build(true), more = el('button', 'more names-more', '+' + cut + ' more');
  longNote.hidden = true;
  more.type = 'button';
  more.setAttribute('aria-expanded', 'false');
  more.addEventListener('click', function () {
    var open = longNote.hidden;
    longNote.hidden = !open;
    shortNote.hidden = open;
    more.textContent = open ? 'fewer names' : '+' + cut + ' more';
    more.setAttribute('aria-expanded', String(open));
  });
  return add(note, shortNote, longNote, ' ', more);
}
/* ---- the text: every outlet's changes on the canonical, or one outlet's version ---- */
function note(list, k, j) {  // article j in list[k], once
  var by = list[k] = list[k] || [];
  if (by[by.length - 1] !== j) by.push(j);
}
function diffAll(d, box) {  // canonical text; every outlet's changes in the margin
  var dropped = [], edited = [], split = [], joined = [], into = [], added = new Map();
  d.a.forEach(function (art, j) {
    if (art.k || !art.r) return;
    var last = -1, entries = art.r.map(decode), n = splitCounts(entries);
    entries.forEach(function (e) {
      if (e.k === 'k') last = e.at;
      if (e.k === 'e') {
        last = e.also >= 0 ? e.also : e.at;
        if (wordsChanged(editOps(d, e.raw)) || (n[e.at] === 1 && e.also < 0)) note(edited, e.at, j);
        if (n[e.at] > 1) note(split, e.at, j);
        if (e.also >= 0) { note(joined, e.at, j); note(into, e.also, j); }
      }
      if (e.k === 'd') note(dropped, e.at, j);
      if (e.k === 'a') {
        var key = addedKey(e);  // placed where its first carrier has it
        if (!added.has(key)) added.set(key, {at: last, text: e.text, by: []});
        added.get(key).by.push(j);
      }
    });
  });
  var after = [];
  added.forEach(function (v) { (after[v.at + 1] = after[v.at + 1] || []).push(v); });
  function addedRows(k) {
    (after[k] || []).forEach(function (v) {
      box.appendChild(sentenceRow('added', ut('ins', 'txt', v.text), byNote(d, [['added by ', v.by]])));
    });
  }
  addedRows(0);
  d.c.forEach(function (c, k) {
    var parts = [];
    if (dropped[k]) parts.push(['dropped by ', dropped[k]]);
    if (edited[k]) parts.push(['edited by ', edited[k]]);
    if (split[k]) parts.push(['split by ', split[k]]);
    if (joined[k]) parts.push(['merged with the next by ', joined[k]]);
    if (into[k]) parts.push(['merged into the one above by ', into[k]]);
    box.appendChild(sentenceRow(dropped[k] ? 'kept has-drops' : 'kept', ut('span', 'txt', c[1]),
                                parts.length ? byNote(d, parts) : null));
    addedRows(k + 1);
  });
}
function diffOne(d, j, box) {  // one outlet's version against the canonical
  var art = d.a[j], fam = carriers(d);
  if (!art.r) { box.appendChild(el('p', 'note', 'No sentence alignment for this article.')); return; }
  var entries = art.r.map(decode), n = splitCounts(entries), seen = {};
  entries.forEach(function (e) {
    if (e.k === 'k') {  // in the outlet's own spelling (case, quotes, spacing) where it differs
      box.appendChild(sentenceRow('kept', ut('span', 'txt', e.text === undefined ? d.c[e.at][1] : e.text)));
    } else if (e.k === 'e') {
      var ops = editOps(d, e.raw), changed = wordsChanged(ops);
      seen[e.at] = (seen[e.at] || 0) + 1;
      box.appendChild(sentenceRow(changed ? 'edited' : 'edited bounds', wordDiff(ops),
                                  editNote(e, changed, n[e.at], seen[e.at])));
    }
    else if (e.k === 'd') box.appendChild(sentenceRow('dropped', ut('del', 'txt', d.c[e.at][1]), 'dropped'));
    else {
      var others = (fam.get(e.fam) || []).filter(function (x) { return x !== j; });
      box.appendChild(sentenceRow('added', ut('ins', 'txt', e.text),
        others.length ? byNote(d, [['added · also in ', others]]) : 'added'));
    }
  });
}
/* ---- outlets table and matrix ---- */
function outletTable(d) {
  var aligned = d.c.length > 0, t = el('table', 'outlets-table'), head = el('tr');
  var cols = ['Outlet', 'Published (UTC)', 'Title (links to the article)', 'Similarity'];
  if (aligned) cols = cols.concat(['Sentences', 'Shares added material with']);
  cols.forEach(function (h) { head.appendChild(el('th', null, h)); });
  add(t, add(el('thead'), head));
  var body = el('tbody');
  d.a.forEach(function (art, j) {
    var tr = el('tr', art.k ? 'canonical' : null);
    add(tr, add(el('td'), ut('span', null, outletName(art.o)), art.k ? ' ' : null,
        art.k ? el('span', 'tag', 'canonical') : null),
      el('td', 'time', art.t ? art.t.replace(' UTC', '') : '–'),
      titleCell(art.u, art.h || '(untitled)'),
      el('td', 'num', pct(art.s)));
    if (aligned) {
      var n = art.n, counts = n ? ['kept', 'edited', 'added', 'dropped'].map(function (w, x) {
        return n[x] ? add(el('span', 'count c-' + w), n[x] + ' ' + w) : null; }).filter(Boolean) : [];
      var prov = el('td', 'prov');
      d.l.forEach(function (l) {
        if (l[1] !== j) return;
        add(prov, prov.firstChild ? '; ' : '', 'first carried by ', ut('span', null, outletName(d.a[l[0]].o)),
            ' (' + plural(l[2], 'sentence') + ')');
      });
      var to = d.l.filter(function (l) { return l[0] === j; }).map(function (l) { return l[1]; });
      if (to.length) {  // each outlet once, and how many versions when an outlet sent several
        var later = names(d, to, true);
        add(prov, prov.firstChild ? '; ' : '', 'copied later by ', nameList(later[1]), later[2]);
      }
      var cell = el('td', 'counts');
      counts.forEach(function (c, x) { add(cell, x ? ', ' : '', c); });
      add(tr, n ? cell : el('td', 'counts', 'not aligned'), prov.firstChild ? prov : add(prov, '–'));
    }
    for (var x = 0; x < tr.children.length; x++) tr.children[x].dataset.label = cols[x];  // phone layout
    body.appendChild(tr);
  });
  return add(t, body);
}
function titleCell(url, title) {  // the cell in the title's direction: a wrapped title's lines end where it reads
  var cell = add(el('td', 'title'), link(url, title));
  if (resolved(title) === 'rtl') cell.dir = 'rtl';   // left to right as the page is, else
  return cell;
}
var MATRIX_COLUMNS = 40, PRINT_COLUMNS = 16;  // printed in pieces of 16 columns: each fits A4 or Letter
var STATUS = {k: 'kept', e: 'edited', m: 'merged into the sentence above', a: 'added', d: 'dropped', x: 'absent'};
function clip(text, n) { return text.length > n ? text.slice(0, n - 1) + '…' : text; }
function matrixRows(d) {  // [{label, cells: article index -> status letter, added}, ...]
  var rowsByKey = new Map(), list = [];
  d.c.forEach(function (c, k) {
    var r = {label: (k + 1) + '. ' + c[1], cells: []};
    rowsByKey.set('c' + k, r);
    list.push(r);
  });
  d.a.forEach(function (art, j) {
    (art.r || []).map(decode).forEach(function (e) {
      var key = e.k === 'a' ? addedKey(e) : 'c' + e.at;
      if (!rowsByKey.has(key)) {
        var r = {label: '+ ' + e.text, cells: [], added: true};
        rowsByKey.set(key, r);
        list.push(r);
      }
      rowsByKey.get(key).cells[j] = e.k;
      if (e.also >= 0) rowsByKey.get('c' + e.also).cells[j] = 'm';
    });
  });
  return list;
}
// The rows' cells of articles d.a[from..to). The page's table (named) is a grid: one Tab stop, each cell named
// "outlet: status" as its tooltip says; the printed pieces are plain tables.
function matrixTable(d, list, from, to, name) {
  var t = el('table', 'matrix'), head = el('tr'), says = [];
  head.appendChild(el('th', 'corner', name ? 'Sentence \\ outlet'
    : 'Articles ' + (from + 1) + '–' + to + ' of ' + d.a.length));
  for (var j = from; j < to; j++) {
    var art = d.a[j], full = isolate(outletName(art.o)) + (art.t ? ', ' + art.t : '');
    var th = ut('th', 'col', clip(outletName(art.o), 22));
    th.title = full;
    th.scope = 'col';
    if (name) th.setAttribute('aria-label', full);
    head.appendChild(th);
    says.push(isolate(outletName(art.o)) + ': ');
  }
  add(t, add(el('thead'), head));
  var body = el('tbody');
  list.forEach(function (r) {
    var tr = el('tr', r.added ? 'added' : null), th = ut('th', 'label', clip(r.label, 70));
    th.title = r.label;
    th.scope = 'row';
    tr.appendChild(th);
    for (var j = from; j < to; j++) {
      var s = r.cells[j] || 'x', td = el('td', 'st-' + s, s === 'x' ? '·' : s.toUpperCase());
      if (name) td.setAttribute('aria-label', says[j - from] + STATUS[s]);
      tr.appendChild(td);
    }
    body.appendChild(tr);
  });
  if (name) {
    t.setAttribute('role', 'grid');
    t.setAttribute('aria-label', name);
  }
  return add(t, body);
}
var GRID_KEYS = {ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [-1, 0], ArrowDown: [1, 0], PageUp: [-10, 0],
                 PageDown: [10, 0], Home: [0, -Infinity], End: [0, Infinity]};
// A cell focused (click, or Tab then the arrow keys) is described in info, and named for screen readers: what the
// tooltip says, for the keyboard and touch too. The grid is one Tab stop, however many cells it has.
function matrixGrid(d, list, t, wrap, info) {
  var stop = t.querySelector('td');
  if (!stop) return;
  stop.tabIndex = 0;
  function go(td) {
    stop.removeAttribute('tabindex');
    stop = td;
    td.tabIndex = 0;
    wrap.style.scrollPadding = t.tHead.offsetHeight + 'px 0 0 ' + td.parentNode.firstChild.offsetWidth + 'px';
    td.focus({preventScroll: true});
    td.scrollIntoView({block: 'nearest', inline: 'nearest'});
  }
  t.addEventListener('focusin', function (e) {
    var td = e.target, art = td.tagName === 'TD' ? d.a[td.cellIndex - 1] : null;
    if (!art) return;
    info.replaceChildren(ut('b', null, outletName(art.o)), art.t ? ', ' + art.t : '', ': ',
                         el('b', null, STATUS[td.className.slice(3)]), ' · ',
                         ut('span', null, list[td.parentNode.sectionRowIndex].label));
  });
  t.addEventListener('click', function (e) {
    var td = e.target.closest && e.target.closest('td');
    if (td) go(td);
  });
  t.addEventListener('keydown', function (e) {
    var step = GRID_KEYS[e.key], td = e.target;
    if (!step || td.tagName !== 'TD' || e.altKey || e.metaKey) return;
    var rows = t.tBodies[0].rows, r = td.parentNode.sectionRowIndex, c = td.cellIndex;
    if (e.ctrlKey && (e.key === 'Home' || e.key === 'End')) step = [step[1], step[1]];  // the first or last cell
    else if (e.ctrlKey) return;
    r = Math.min(rows.length - 1, Math.max(0, r + step[0]));
    c = Math.min(rows[r].cells.length - 1, Math.max(1, c + step[1]));
    go(rows[r].cells[c]);
    e.preventDefault();
  });
  t.addEventListener('mouseover', function (e) {  // tooltips on demand: big matrices stay light
    var td = e.target.closest && e.target.closest('td');
    if (td && !td.title) td.title = td.getAttribute('aria-label');
  });
}
// Printing: the open matrix in pieces of PRINT_COLUMNS columns (its rows' labels in each), built as printing starts
// (or print is emulated) and dropped after: the page holds one copy of a big matrix, not two.
var printMatrix = null;
function printing(on) { if (printMatrix) printMatrix(on); }
window.addEventListener('beforeprint', function () { printing(true); });
window.addEventListener('afterprint', function () { printing(false); });
matchMedia('print').addEventListener('change', function (e) { printing(e.matches); });
function matrix(d, box, all) {  // sentence families x articles; the first MATRIX_COLUMNS unless all
  var list = matrixRows(d), n = all ? d.a.length : Math.min(d.a.length, MATRIX_COLUMNS);
  var wrap = el('div', 'matrix-wrap'), t = matrixTable(d, list, 0, n, 'Sentences × outlets');
  var info = el('p', 'cell-info', 'Click a cell, or Tab to the matrix and move with the arrow keys: ' +
                'its outlet, sentence and status show here.');
  var pieces = el('div', 'matrix-print');
  printMatrix = function (on) {
    pieces.replaceChildren();
    for (var from = 0; on && pieces.isConnected && from < n; from += PRINT_COLUMNS) {
      pieces.appendChild(matrixTable(d, list, from, Math.min(n, from + PRINT_COLUMNS), null));
    }
  };
  matrixGrid(d, list, t, wrap, info);
  var key = el('p', 'legend');
  add(key, 'K kept · E edited · M merged into the sentence above · A added · D dropped · “·” absent. ' +
      'Columns: the canonical version, then the others by time.');
  add(wrap, t);
  if (!all && d.a.length > n) {
    var more = el('button', 'more', 'Show all ' + d.a.length + ' articles');
    more.type = 'button';
    more.addEventListener('click', function () { box.replaceChildren(matrix(d, box, true)); });
    add(key, ' ', more);
  }
  return add(el('div'), info, wrap, pieces, key);
}
function matrixBlock(d) {  // built when first opened
  var det = el('details', 'block matrix-block'), box = el('div');
  add(det, el('summary', null, 'Sentences × outlets (' + plural(d.a.length, 'article') + ')'), box);
  det.addEventListener('toggle', function () {
    if (det.open && !box.firstChild) box.appendChild(matrix(d, box, false));
  });
  return det;
}
/* ---- the story pane ---- */
function showStory(i, focus) {  // focus: move the keyboard focus to the story (the user opened it)
  var s = stories[i], d = getDetails()[i];
  current = i;
  markCurrent();
  var frag = document.createDocumentFragment();
  var back = el('a', 'back', '← All stories');
  back.href = '#';
  var title = ut('h2', 'story-title', s.h);
  title.tabIndex = -1;  // focused when opened: screen readers announce the story, Tab goes on into it
  add(frag, back, title);
  var meta = el('p', 'meta');
  add(meta, 'First: ', ut('b', null, outletName(s.o)), s.t ? ', ' + s.t : '', ' · ', outletCount(s),
      ' · ', plural(s.a, 'article'),
      s.d === null ? '' : ' · ' + pct(s.d) + ' of sentences changed (mean over outlets)');
  frag.appendChild(meta);
  if (!d) {  // beyond the stories whose details the page holds
    var only = section('Outlets');
    add(only, add(el('p', 'outlet-names'), nameList(s.os.map(outletName))),
        el('p', 'note', 'This page holds the details of the stories with the most outlets that fit in ' +
           'its cap. This story\'s ' +
           'sentences are in sentences.parquet (cluster ' + s.id + '); `dedup report OUT_DIR --articles 0` ' +
           'rebuilds the page with every story\'s details.'));
    display(add(frag, only), focus);
    return;
  }
  var outs = section('Outlets');
  outs.appendChild(add(el('div', 'table-wrap'), outletTable(d)));
  var diff = section('Text');
  if (d.c.length) {
    var pick = el('select', 'pick'), box = el('div', 'diff');
    pick.setAttribute('aria-label', 'Compare the canonical text with');
    pick.appendChild(el('option', null, 'All outlets on the canonical text'));
    pick.lastChild.value = 'all';
    var want = chosenOutlet(), chosen = 'all';
    d.a.forEach(function (art, j) {
      if (art.k) return;
      var opt = el('option', null, isolate(outletName(art.o)) + (art.t ? ' — ' + art.t : ''));
      opt.value = String(j);
      pick.appendChild(opt);
      if (art.o === want && chosen === 'all') chosen = String(j);
    });
    pick.value = chosen;
    var legend = el('p', 'legend');
    add(legend, el('ins', null, 'added'), ' ', el('del', null, 'dropped'), ' ', el('span', 'edited-key', 'edited'),
        ' (word changes: ', el('ins', null, 'new'), ' ', el('del', null, 'old'), ')');
    var draw = function () {
      box.replaceChildren();
      if (pick.value === 'all') diffAll(d, box); else diffOne(d, Number(pick.value), box);
    };
    pick.addEventListener('change', draw);
    add(diff, add(el('label', 'pick-label'), 'Compare: ', pick), legend, box);
    draw();
  } else {
    diff.appendChild(el('p', 'note', 'No sentence alignment is available for this story.'));
  }
  add(frag, outs, diff);
  if (d.c.length) add(frag, matrixBlock(d));
  display(frag, focus);
}
// One column (narrow windows): the page scrolls, not the panes, and the list is hidden while a story is read;
// listY is where the list was, restored when the story is closed.
var ONE_COLUMN = '(max-width: 900px)', listY = 0;
function display(frag, focus) {
  var narrow = matchMedia(ONE_COLUMN).matches;
  if (narrow && !document.body.classList.contains('reading')) listY = window.scrollY;
  storyEl.replaceChildren(frag);
  storyEl.scrollTop = 0;
  document.body.classList.add('reading');
  if (narrow) window.scrollTo(0, 0);
  if (focus) storyEl.querySelector('.story-title').focus({preventScroll: true});
  performance.mark('story-rendered');
}
function closeStory(focus) {  // focus: back to the story's row in the list
  var was = current, reading = document.body.classList.contains('reading');
  current = -1;
  markCurrent();
  document.body.classList.remove('reading');
  storyEl.replaceChildren(el('p', 'placeholder', 'Select a story. Keys: j/k move, / searches.'));
  if (reading && matchMedia(ONE_COLUMN).matches) window.scrollTo(0, listY);
  if (focus && was >= 0 && rows[was] && rows[was].isConnected) rows[was].firstChild.focus();
}
