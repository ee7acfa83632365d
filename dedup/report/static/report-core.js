/* dedup editors' report, 1 of 3: the data and the helpers the other files share.

   html.py inlines report-core.js, report-story.js and report-list.js, in that order, into one
   function (one inline script, allowed by its hash): the three share its scope, 'use strict' included.

   Data comes from two JSON blocks: the overview here, the story details parsed on first use
   (getDetails). Every string from an article is untrusted and reaches the page only through
   textContent, title or a checked http(s) href, never through innerHTML: el, ut, isolate and link
   are the ways in. The data format, and the entry encoding decoded below, are documented in
   dedup/report/model.py. */
var $ = function (id) { return document.getElementById(id); };
var overview = JSON.parse($('overview-data').textContent);
var stories = overview.stories, outlets = overview.outlets;
var details = null, current = -1;  // current: the story shown (its index in stories), -1 for none
var listEl = $('stories'), storyEl = $('story'), qEl = $('q'), outletEl = $('outlet'), sortEl = $('sort');

function getDetails() {
  if (!details) details = JSON.parse($('story-data').textContent);
  return details;
}
function el(tag, cls, text) {
  var e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}
/* A text's direction: that of most of its words. dir="auto" (and FSI) take the first strong letter's,
   which lays out a Hebrew or Arabic sentence that opens with a Latin name ("Google הודיעה…") left to right.
   Words, not letters: Hebrew and Arabic words are short (vowels unwritten), brand names long. 'rtl' where
   the first word is Latin and at least half the words are right to left, 'ltr' where the first is right to
   left and most are not, 'auto' otherwise (text without a right-to-left letter is always 'auto', as it was). */
var RTL_CHAR = /[\u0590-\u08FF\uFB1D-\uFDFF\uFE70-\uFEFF\u{10800}-\u{10FFF}\u{1E800}-\u{1EFFF}]/u;
var RTL_START = new RegExp('^' + RTL_CHAR.source, 'u');   // a word's first letter (astral ones too)
function direction(text) {
  if (!RTL_CHAR.test(text)) return 'auto';
  var words = text.match(/\p{L}[\p{L}\p{M}]*/gu) || [];
  if (!words.length) return 'auto';
  var rtl = words.filter(function (w) { return RTL_START.test(w); }).length, first = RTL_START.test(words[0]);
  if (!first && rtl * 2 >= words.length) return 'rtl';
  if (first && rtl * 2 < words.length) return 'ltr';
  return 'auto';
}
function resolved(text) {  // direction(text), 'auto' decided as the browser does: by the first letter
  var d = direction(text), letter = text.match(/\p{L}/u);
  return d !== 'auto' ? d : letter && RTL_START.test(letter[0]) ? 'rtl' : 'ltr';
}
function orient(e) { e.dir = direction(e.textContent); return e; }  // once its text is in
function ut(tag, cls, text) {  // untrusted text in an element of its own: isolated (.u) so its bidi controls
  return orient(el(tag, cls ? cls + ' u' : 'u', text));  // cannot reorder the text around it
}
function isolate(text) {  // FSI…PDI (or RLI/LRI, see direction): the same for untrusted text inside a string
  var d = direction(text);  // (titles, <option> labels)
  return (d === 'rtl' ? '\u2067' : d === 'ltr' ? '\u2066' : '\u2068') + text + '\u2069';
}
function nameList(names) {  // "A, B, C" with each name isolated on its own: one name's override stays in it
  var span = el('span');
  names.forEach(function (name, x) { add(span, x ? ', ' : '', ut('span', null, name)); });
  return span;
}
function add(parent) {
  for (var i = 1; i < arguments.length; i++) {
    var c = arguments[i];
    if (c !== null && c !== undefined) parent.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
  }
  return parent;
}
function link(url, text, cls) {
  if (typeof url === 'string' && /^https?:\/\//i.test(url)) {
    var a = ut('a', cls, text);
    a.href = url;
    if (a.protocol === 'http:' || a.protocol === 'https:') {
      a.rel = 'noopener noreferrer';
      a.target = '_blank';
      a.referrerPolicy = 'no-referrer';
      return a;
    }
  }
  return ut('span', cls, text);
}
function outletName(i) { return outlets[i]; }
function pct(x) { return x === null || x === undefined ? '–' : Math.round(x * 100) + '%'; }
function plural(n, word, many) { return n + ' ' + (n === 1 ? word : many || word + 's'); }
function outletCount(s) {  // n_outlets counts named outlets: 0 when no article names its outlet
  return s.n ? plural(s.n, 'outlet') : 'outlet unknown';
}
function chosenOutlet() { return outletEl.value === '' ? -1 : Number(outletEl.value); }  // -1: all outlets

/* ---- a version's entries (encoding: see dedup/report/model.py) ---- */
function decode(e) {
  if (typeof e === 'number') return e >= 0 ? {k: 'k', at: e} : {k: 'd', at: -e - 1};
  if (e[0] === 'a') return {k: 'a', fam: e[1], text: e[2]};
  if (e[0] === 'k') return {k: 'k', at: e[1], text: e[2]};
  return {k: 'e', at: e[1], raw: e, also: e.length > 3 ? e[3] : -1};  // also: a canonical sentence merged in
}
function editOps(d, e) {  // [[op, text], ...] of an edited entry
  if (e[0] === 'E') return e[2];
  var text = d.c[e[1]][1] + (e.length > 3 ? ' ' + d.c[e[3]][1] : ''), pos = 0;
  return e[2].map(function (x) {
    if (typeof x === 'string') return ['+', x];
    var n = Math.abs(x), part = text.slice(pos, pos + n);
    pos += n;
    return [x > 0 ? '=' : '-', part];
  });
}
function addedKey(e) {  // the row of an added sentence: its family, else its own text
  return e.fam === null ? 't' + e.text : 'f' + e.fam;
}
