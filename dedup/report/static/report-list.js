/* dedup editors' report, 3 of 3: the story list and the page's wiring.

   The overview list (rows built on first show, added in chunks as the list scrolls), its search
   over headlines and story texts, the outlet filter and the sort orders; the #story= address and
   j/k navigation; then the wiring that fills the outlet filter, draws the list and starts the page
   once the story details (the JSON block after the script) are there. Uses report-core.js's
   helpers and report-story.js's showStory and closeStory. */
var searchIndex = null, visible = [], rows = [];  // rows: each story's <li> by its index, built when first shown

/* ---- overview list ---- */
function row(s) {
  if (rows[s.i]) return rows[s.i];
  var li = el('li', 'story-row');
  var a = el('a', 'story-link');
  a.href = storyHash(s);
  var meta = el('span', 'meta');
  add(meta, el('b', 'n', outletCount(s)), ' · ', plural(s.a, 'article'), ' · first ',
      ut('span', 'first', outletName(s.o)), s.t ? ' · ' + s.t : '');
  var div = null;
  if (s.d !== null) {
    var bar = el('span', 'bar'), fill = el('span', 'fill');
    fill.style.width = Math.round(s.d * 100) + '%';
    div = add(el('span', 'div'), pct(s.d) + ' of sentences changed', add(bar, fill));
  }
  var more = s.os.length > 6 ? ' +' + (s.os.length - 6) : '';
  add(a, ut('span', 'headline', s.h), meta, div,
      add(el('span', 'outlets'), nameList(s.os.slice(0, 6).map(outletName)), more));
  li.appendChild(a);
  rows[s.i] = li;
  return li;
}
function buildSearchIndex() {
  var d = getDetails();
  searchIndex = d.map(function (x) {
    if (!x) return '';  // a story without its detail in the page: its headline is searched
    var parts = [];
    x.a.forEach(function (art) {
      if (art.h) parts.push(art.h);
      (art.r || []).forEach(function (e) {
        if (e[0] === 'a' || e[0] === 'k') parts.push(e[2]);  // added, or kept in the outlet's own spelling
        else if (e[0] === 'e' || e[0] === 'E') {  // an edited sentence as the outlet wrote it: kept, inserted
          parts.push(editOps(x, e).map(function (op) { return op[0] === '-' ? '' : op[1]; }).join(''));
        }
      });
    });
    x.c.forEach(function (c) { parts.push(c[1]); });
    return parts.join('\n').toLowerCase();
  });
}
function matches(s, terms) {  // every term in the headline or anywhere in the story's text
  var h = s.h.toLowerCase();
  return terms.every(function (t) {
    if (h.indexOf(t) >= 0) return true;
    if (!ready) return false;  // story texts are still loading; start() searches again
    if (!searchIndex) buildSearchIndex();
    return searchIndex[s.i].indexOf(t) >= 0;
  });
}
var SORTS = {
  size: function (a, b) { return a.i - b.i; },
  time: function (a, b) { return (a.ts === '') - (b.ts === '') || (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : a.i - b.i); },
  recent: function (a, b) { return (a.ts === '') - (b.ts === '') || (a.ts > b.ts ? -1 : a.ts < b.ts ? 1 : a.i - b.i); },
  divergence: function (a, b) { return (b.d === null ? -1 : b.d) - (a.d === null ? -1 : a.d) || a.i - b.i; }
};
function renderList() {
  var terms = qEl.value.toLowerCase().split(/\s+/).filter(Boolean);
  var o = chosenOutlet();
  visible = stories.filter(function (s) {
    return (o < 0 || s.os.indexOf(o) >= 0) && (!terms.length || matches(s, terms));
  }).sort(SORTS[sortEl.value] || SORTS.size);
  shown = 0;
  listEl.replaceChildren();
  showMore(CHUNK);
  $('count').textContent = visible.length === stories.length ? plural(stories.length, 'story', 'stories')
    : visible.length + ' of ' + plural(stories.length, 'story', 'stories');
  markCurrent();
}
function showMore(n) {  // rows are added in chunks as the list scrolls: big lists stay fast
  var frag = document.createDocumentFragment(), end = Math.min(visible.length, shown + n);
  for (var k = shown; k < end; k++) frag.appendChild(row(visible[k]));
  shown = end;
  more.remove();
  listEl.appendChild(frag);
  if (shown < visible.length) {
    more.firstChild.textContent = 'Show more (' + (visible.length - shown) + ' left)';
    listEl.appendChild(more);
  }
}
var marked = null;
function markCurrent() {
  if (marked) marked.removeAttribute('aria-current');
  marked = current >= 0 && rows[current] ? rows[current].firstChild : null;
  if (marked) marked.setAttribute('aria-current', 'true');
}

/* ---- navigation ---- */
function storyHash(s) { return '#story=' + encodeURIComponent(s.id); }
// focus: the user opened or closed the story (not the page's first load). An address of a part of the page
// (#rejects) opens that part and leaves the story as it is: Back returns to it as it was.
function fromHash(focus) {
  var m = /^#story=(.*)$/.exec(location.hash), id = null, part = null;
  if (m) { try { id = decodeURIComponent(m[1]); } catch (err) { id = null; } }
  else if (location.hash.length > 1) part = document.getElementById(location.hash.slice(1));
  if (part && !storyEl.contains(part)) {
    if (part.tagName === 'DETAILS' && !part.open) { part.open = true; part.scrollIntoView(); }
    return;
  }
  var s = id === null ? null : stories.find(function (x) { return x.id === id; });
  if (s && s.i === current) return;  // back from a part of the page: the story is still shown
  if (s) showStory(s.i, focus); else closeStory(focus);
}
function move(step) {
  if (!visible.length) return;
  var pos = visible.findIndex(function (s) { return s.i === current; });
  pos = pos < 0 ? (step > 0 ? 0 : visible.length - 1) : Math.min(visible.length - 1, Math.max(0, pos + step));
  var s = visible[pos];
  if (pos >= shown) showMore(pos - shown + CHUNK);
  history.replaceState(null, '', storyHash(s));
  showStory(s.i, true);
  rows[s.i].scrollIntoView({block: 'nearest'});
}

/* ---- wiring ---- */
var ready = false, CHUNK = 150, shown = 0, more = el('li', 'more-row');
more.appendChild(el('button', 'more', 'Show more'));
more.firstChild.type = 'button';
more.firstChild.addEventListener('click', function () { showMore(CHUNK * 2); });
if (window.IntersectionObserver) {
  new IntersectionObserver(function (seen) {
    if (seen.some(function (x) { return x.isIntersecting; })) showMore(CHUNK * 2);
  }, {rootMargin: '400px'}).observe(more);
}
var opts = document.createDocumentFragment(), counts = new Array(outlets.length).fill(0);
stories.forEach(function (s, i) { s.i = i; s.os.forEach(function (o) { counts[o]++; }); });
outlets.forEach(function (name, i) {
  var o = el('option', null, isolate(name) + ' (' + counts[i] + ')');
  o.value = String(i);
  opts.appendChild(o);
});
outletEl.appendChild(opts);
var timer = null;
qEl.addEventListener('input', function () { clearTimeout(timer); timer = setTimeout(renderList, 120); });
outletEl.addEventListener('change', function () { renderList(); if (current >= 0) showStory(current); });
sortEl.addEventListener('change', renderList);
window.addEventListener('hashchange', function () { if (ready) fromHash(true); });
document.addEventListener('keydown', function (e) {
  if (!ready || e.altKey || e.ctrlKey || e.metaKey) return;
  var tag = e.target && e.target.tagName, typing = tag === 'INPUT' || tag === 'SELECT' || tag === 'TEXTAREA';
  if (e.key === 'Escape') { if (typing) e.target.blur(); else if (current >= 0) location.hash = ''; return; }
  if (typing) return;
  if (e.key === 'j') { move(1); e.preventDefault(); }  // not the arrow keys: they scroll, as everywhere
  else if (e.key === 'k') { move(-1); e.preventDefault(); }
  else if (e.key === '/') { qEl.focus(); e.preventDefault(); }
});
renderList();
if (listEl.querySelector('.headline')) listEl.querySelector('.headline').setAttribute('elementtiming', 'first-story');
performance.mark('overview-rendered');
function start() {  // the story details follow this script in the page: wait for them
  ready = true;
  if (qEl.value.trim()) renderList();
  fromHash(false);
  if (window.requestIdleCallback) requestIdleCallback(getDetails, {timeout: 3000});  // first open is then instant
  document.documentElement.dataset.ready = '1';
}
if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start); else start();
