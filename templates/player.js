/* sentimentogram player: word-synchronized styled captions, transcript, timeline, live restyling.
   Word sync reads media.currentTime on every animation frame while playing ("timeupdate" fires as
   rarely as 4 times a second, far too coarse for words). */
(function () {
  "use strict";
  var analysis = JSON.parse(document.getElementById("analysis").textContent);
  var data = JSON.parse(document.getElementById("page-data").textContent);
  var EPS = 0.01;  // a seek to a word's exact start may read back a hair earlier
  /* The captions are cues cut by the subtitle rules (data.cues, one set per age group: each
     its reading speed); a cue carries its own end, so nothing lingers after it. */
  var HOLD = data.cues ? 0 : 0.8;  // seconds a line stays up after its last word, unless the next one starts

  var words = [];
  analysis.lines.forEach(function (line) { line.words.forEach(function (w) { words.push(w); }); });
  var lines = data.cues ? data.cues[data.initial.age] || data.lines : data.lines;
  var F = {};
  data.fields.forEach(function (name, i) { F[name] = i; });

  var caption = document.getElementById("caption");
  var captionBox = document.getElementById("caption-box");
  var gates = document.getElementById("gates");
  var clockLabel = document.getElementById("clock");
  var timeline = document.getElementById("timeline");
  var timelineCanvas = document.getElementById("timeline-canvas");
  var playhead = document.getElementById("playhead");
  var envelope = document.getElementById("envelope");
  var legend = document.getElementById("legend");
  var transcript = document.getElementById("transcript");
  var transcriptWords = [];
  var captionSpeaker = document.getElementById("caption-speaker");
  var speakerById = {};
  (data.speakers || []).forEach(function (s) { speakerById[s.id] = s; });
  Array.prototype.forEach.call(transcript.querySelectorAll(".tword"), function (el) {
    transcriptWords[+el.dataset.i] = el;
  });

  /* A clock with the media element's interface, for a page whose media is not linked. */
  function SilentClock(duration) {
    var at = 0, since = null, self = this;
    this.paused = true;
    this.ended = false;
    Object.defineProperty(this, "duration", { get: function () { return duration; } });
    Object.defineProperty(this, "currentTime", {
      get: function () {
        if (self.paused) return at;
        var t = at + (performance.now() - since) / 1000;
        if (t >= duration) { at = duration; self.paused = true; self.ended = true; return at; }
        return t;
      },
      set: function (t) { at = Math.max(0, Math.min(duration, t)); since = performance.now(); }
    });
    this.play = function () { at = this.currentTime; since = performance.now(); this.paused = false;
      this.ended = false; startLoop(); return Promise.resolve(); };
    this.pause = function () { at = this.currentTime; this.paused = true; sync(); };
  }

  var media = document.getElementById("media") || new SilentClock(analysis.duration || 0);

  function duration() {
    var d = analysis.duration;
    if (!(d > 0) && isFinite(media.duration)) d = media.duration;
    if (!(d > 0) && words.length) d = words[words.length - 1].end;
    return d > 0 ? d : 1;
  }

  var state = { culture: data.initial.culture, age: data.initial.age, emphasis: !!data.initial.emphasis,
                line: -2, word: -1 };
  var emphasisBox = document.getElementById("emphasis");
  var legendNote = document.getElementById("legend-note");

  function comboKey() { return state.culture + "/" + state.age; }

  function applyStyle(el, row, sizeShare) {
    var size = row[F.size];
    if (sizeShare !== undefined) size = 1 + (size - 1) * sizeShare;
    var s = el.style;
    s.color = row[F.color];
    s.backgroundColor = row[F.background];
    s.fontFamily = row[F.font];
    s.fontSize = size + "em";
    s.fontWeight = row[F.weight];
    s.fontStyle = row[F.italic] ? "italic" : "normal";
    s.letterSpacing = row[F.letter_spacing] + "em";
    s.textTransform = row[F.text_transform];
    s.setProperty("--strength", row[F.animation_strength]);
    /* baseline shift (pitch), as a relative offset: the line box stays where it is */
    s.top = row[F.baseline_shift] ? (-row[F.baseline_shift]) + "em" : "";
    el.dataset.anim = row[F.animation];
  }

  /* The current culture/age's style of every word, decoded from the page's shared columns into
     rows in data.fields order (colour, background, font, size, weight, italic, spacing, ...). */
  var rows = [];
  function decodeRows(key) {
    var combo = (state.emphasis ? data.emphasised : data.combos)[key], out = [];
    var columns = data.fields.map(function (name) { return data.columns[combo[name]]; });
    for (var i = 0; i < words.length; i++) {
      out.push(data.fields.map(function (name, k) {
        var column = columns[k];
        if (name === "color") return "#" + column.substr(i * 6, 6);
        if (name === "italic") return column.charAt(i) === "1" ? 1 : 0;
        if (data.vocabulary[name]) return data.vocabulary[name][data.codes.indexOf(column.charAt(i))];
        if (column.codes !== undefined) return column.values[data.codes.indexOf(column.codes.charAt(i))] / data.scale[name];
        return column[i] / data.scale[name];
      }));
    }
    return out;
  }
  function wordStyle(i) { return rows[i]; }
  function emotionStyle(emotion) {
    var table = data.legend[comboKey()];
    return table[emotion] || table.neutral;
  }
  /* The colour that marks an emotion on dark strips: its text colour, or its own caption chip
     when it has one (eastern anger is near-black text on a light chip). */
  function markColor(emotion) {
    var row = emotionStyle(emotion);
    return row[F.background] !== emotionStyle("neutral")[F.background] ? row[F.background] : row[F.color];
  }

  function formatTime(t) {
    t = Math.max(0, t || 0);
    var m = Math.floor(t / 60), s = Math.floor(t % 60);
    return m + ":" + (s < 10 ? "0" : "") + s;
  }

  /* ---- which line and word are on at time t ------------------------------------------------ */

  function lineAt(t) {
    var lo = 0, hi = lines.length - 1, found = -1;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      if (lines[mid].start - EPS <= t) { found = mid; lo = mid + 1; } else hi = mid - 1;
    }
    if (found >= 0 && t > lines[found].end + HOLD) return -1;
    return found;
  }

  function wordAt(lineIndex, t) {
    if (lineIndex < 0) return -1;
    var line = lines[lineIndex];
    if (t > line.end + EPS) return -1;  // the line lingers, but no word is being spoken
    for (var j = line.first + line.count - 1; j >= line.first; j--) {
      if (words[j].start - EPS <= t) return j;
    }
    return -1;
  }

  function showLine(lineIndex) {
    state.line = lineIndex;
    if (!words.length) return;  // keep the template's "No speech was found"
    caption.textContent = "";
    if (lineIndex < 0) { gates.textContent = ""; showSpeaker(null); return; }
    var line = lines[lineIndex];
    showSpeaker(line.speaker);
    for (var j = line.first; j < line.first + line.count; j++) {
      /* an emphasised word is a <strong>: screen readers and copied text keep the stress */
      var stressed = state.emphasis && words[j].emphasised;
      var span = document.createElement(stressed ? "strong" : "span");
      span.className = "word cword" + (stressed ? " emph" : "");
      span.textContent = words[j].text.trim();  // textContent: transcript text is never parsed as HTML
      span.dataset.i = j;
      span.dataset.start = words[j].start.toFixed(3);
      span.dataset.end = words[j].end.toFixed(3);
      span.dataset.emotion = words[j].emotion.emotion;
      applyStyle(span, wordStyle(j));
      caption.appendChild(span);
      if (line.breaks && line.breaks.indexOf(j + 1) >= 0) caption.appendChild(document.createElement("br"));
      else if (j < line.first + line.count - 1) caption.appendChild(document.createTextNode(" "));
    }
    gates.textContent = "audio " + Math.round(line.audio * 100) + "% · text " +
      Math.round(line.text * 100) + "%";
    revealInTranscript(line.first);
  }

  /* whose line the caption is: the speaker's chip above it (textContent: names are never HTML) */
  function showSpeaker(id) {
    if (!captionSpeaker) return;
    var s = id && speakerById[id];
    captionSpeaker.hidden = !s;
    captionSpeaker.textContent = s ? s.name : "";
    captionSpeaker.style.setProperty("--spk", s ? s.colour : "");
  }

  function revealInTranscript(i) {
    var el = transcriptWords[i];
    if (!el) return;
    var top = el.offsetTop - transcript.offsetTop, bottom = top + el.offsetHeight;
    if (top < transcript.scrollTop || bottom > transcript.scrollTop + transcript.clientHeight) {
      transcript.scrollTop = Math.max(0, top - transcript.clientHeight / 3);
    }
  }

  function setActive(i) {
    var old = caption.querySelector(".word.active");
    if (old) old.classList.remove("active");
    if (state.word >= 0 && transcriptWords[state.word]) transcriptWords[state.word].classList.remove("active");
    state.word = i;
    if (i < 0) return;
    var el = caption.querySelector('.word[data-i="' + i + '"]');
    if (el) el.classList.add("active");
    if (transcriptWords[i]) transcriptWords[i].classList.add("active");
  }

  function sync() {
    var t = media.currentTime || 0;
    var li = lineAt(t);
    if (li !== state.line) showLine(li);
    var wi = wordAt(li, t);
    if (wi !== state.word) setActive(wi);
    var d = duration();
    playhead.style.left = Math.min(100, (t / d) * 100) + "%";
    timeline.setAttribute("aria-valuenow", t.toFixed(1));
    clockLabel.textContent = formatTime(t) + " / " + formatTime(d);
  }

  var rafId = 0;
  function frame() {
    rafId = 0;
    sync();
    if (!media.paused && !media.ended) rafId = requestAnimationFrame(frame);
  }
  function startLoop() { if (!rafId) rafId = requestAnimationFrame(frame); }

  function seek(t) {
    media.currentTime = Math.max(0, Math.min(duration(), t));
    sync();
  }

  function togglePlay() {
    if (media.paused) {
      var p = media.play();
      if (p && p.catch) p.catch(function () {});  // a refused autoplay is not an error here
    } else media.pause();
  }

  /* ---- drawing: timeline strip, audio envelope, legend ---------------------------------------- */

  function fitCanvas(canvas) {
    var ratio = window.devicePixelRatio || 1;
    var w = Math.max(1, Math.round(canvas.clientWidth * ratio));
    var h = Math.max(1, Math.round(canvas.clientHeight * ratio));
    if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
    return canvas.getContext("2d");
  }

  function drawBars(canvas, mirrored) {
    if (!canvas) return;
    var ctx = fitCanvas(canvas), w = canvas.width, h = canvas.height, d = duration();
    ctx.clearRect(0, 0, w, h);
    words.forEach(function (word) {
      var x0 = (word.start / d) * w, x1 = Math.max(x0 + 1, (word.end / d) * w);
      var level = 0.15 + 0.85 * Math.max(0, Math.min(1, word.emotion.arousal));
      ctx.fillStyle = markColor(word.emotion.emotion);
      if (mirrored) ctx.fillRect(x0, h * (1 - level) / 2, x1 - x0, h * level);
      else ctx.fillRect(x0, h * (1 - level), x1 - x0, h * level);
    });
  }

  function drawLegend() {
    legend.textContent = "";
    data.emotions.forEach(function (emotion) {
      var row = emotionStyle(emotion);
      var item = document.createElement("li");
      var swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.backgroundColor = markColor(emotion);
      var sample = document.createElement("span");
      sample.className = "word";
      sample.textContent = emotion;
      applyStyle(sample, row, 0.4);
      item.appendChild(swatch);
      item.appendChild(sample);
      legend.appendChild(item);
    });
    if (state.emphasis && data.legend_emphasis) {
      var stress = document.createElement("li");
      var strong = document.createElement("strong");
      strong.className = "word emph";
      strong.textContent = "emphasised";
      applyStyle(strong, data.legend_emphasis[comboKey()], 0.4);
      stress.appendChild(strong);
      legend.appendChild(stress);
    }
  }

  function restyle() {
    rows = decodeRows(comboKey());
    if (data.cues) lines = data.cues[state.age] || lines;  // the age group's reading speed
    document.body.dataset.culture = state.culture;
    document.body.dataset.age = state.age;
    document.documentElement.style.setProperty("--caption-bg", emotionStyle("neutral")[F.background]);
    transcriptWords.forEach(function (el, i) {
      if (!el) return;
      applyStyle(el, wordStyle(i), 0.35);
      el.classList.toggle("emph", state.emphasis && !!words[i].emphasised);
    });
    if (legendNote) legendNote.textContent = data.notes ? data.notes[state.culture] : "";
    var current = data.cues ? lineAt(media.currentTime || 0) : state.line, active = state.word;
    state.line = -2;
    showLine(current);
    setActive(active);
    drawLegend();
    drawBars(timelineCanvas, false);
    drawBars(envelope, true);
  }

  /* ---- wiring --------------------------------------------------------------------------------- */

  ["play", "playing"].forEach(function (name) { media.addEventListener && media.addEventListener(name, startLoop); });
  ["pause", "seeking", "seeked", "loadedmetadata", "ended", "emptied"].forEach(function (name) {
    if (media.addEventListener) media.addEventListener(name, sync);
  });
  if (media.addEventListener) media.addEventListener("durationchange", function () {
    drawBars(timelineCanvas, false); drawBars(envelope, true); sync();
  });

  document.getElementById("culture").addEventListener("change", function (e) {
    state.culture = e.target.value; restyle();
  });
  document.getElementById("age").addEventListener("change", function (e) {
    state.age = e.target.value; restyle();
  });
  if (emphasisBox) emphasisBox.addEventListener("change", function (e) {
    state.emphasis = e.target.checked; restyle();
  });

  /* the transcript panel's speaker filter: only that speaker's lines (or everyone's) */
  var speakerFilter = document.getElementById("speaker-filter");
  if (speakerFilter) speakerFilter.addEventListener("change", function (e) {
    var id = e.target.value;
    Array.prototype.forEach.call(transcript.querySelectorAll(".tline"), function (el) {
      el.classList.toggle("filtered-out", !!id && el.dataset.speaker !== id);
    });
  });

  transcript.addEventListener("click", function (e) {
    var el = e.target.closest && e.target.closest(".tword");
    if (el) seek(parseFloat(el.dataset.start));
  });
  timeline.addEventListener("click", function (e) {
    var rect = timeline.getBoundingClientRect();
    seek(((e.clientX - rect.left) / rect.width) * duration());
  });

  window.addEventListener("keydown", function (e) {
    var tag = (e.target && e.target.tagName) || "";
    if (tag === "SELECT" || tag === "INPUT" || tag === "TEXTAREA" || e.altKey || e.ctrlKey || e.metaKey) return;
    if (e.key === " " || e.code === "Space") { e.preventDefault(); togglePlay(); }
    else if (e.key === "ArrowLeft") { e.preventDefault(); seek((media.currentTime || 0) - 5); }
    else if (e.key === "ArrowRight") { e.preventDefault(); seek((media.currentTime || 0) + 5); }
  }, true);  // capture: the video's own controls must not toggle play a second time

  var resizeTimer = 0;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () { drawBars(timelineCanvas, false); drawBars(envelope, true); }, 150);
  });

  restyle();
  sync();
  if (!media.paused) startLoop();
})();
