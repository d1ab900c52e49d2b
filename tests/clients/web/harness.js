/*
 * Page-side half of tests/clients/harness: parses the query string and publishes the page state the Python side
 * polls.  Loaded before the mapping libraries so that errors during their start-up are captured too.
 *
 *   window.__loaded  true once the layer's image for the *current* view has loaded and been painted
 *   window.__error   first error message (null if none); window.__errors: all of them
 *   window.__loads   number of images loaded; window.__bounds: the view (see the map pages)
 *   window.__map / window.__layer / window.__source: the live client objects, for tests that pan/zoom
 */
(function () {
  'use strict';
  window.__loaded = false;
  window.__error = null;
  window.__errors = [];
  window.__loads = 0;
  window.__bounds = null;
  window.__events = [];

  var params = new URLSearchParams(window.location.search);

  function fail(message) {
    message = String(message);
    window.__errors.push(message);
    if (window.__error === null) window.__error = message;
    console.error('[harness] ' + message);
  }

  function required(name) {
    var value = params.get(name);
    if (value === null || value === '') throw new Error('missing query parameter "' + name + '"');
    return value;
  }

  function numbers(name, count) {
    var value = params.get(name);
    if (value === null || value === '') return null;
    var list = value.split(',').map(function (s) { return Number(s.trim()); });
    if ((count && list.length !== count) || list.some(function (n) { return !isFinite(n); })) {
      throw new Error('query parameter "' + name + '" must be ' + (count || 'some') + ' comma-separated numbers: ' + value);
    }
    return list;
  }

  function bool(name, fallback) {
    var value = params.get(name);
    if (value === null || value === '') return fallback;
    return !/^(0|false|no|off)$/i.test(value);
  }

  function num(name, fallback) {
    var value = params.get(name);
    if (value === null || value === '') return fallback;
    var n = Number(value);
    if (!isFinite(n)) throw new Error('query parameter "' + name + '" is not a number: ' + value);
    return n;
  }

  function str(name, fallback) {
    var value = params.get(name);
    return value === null || value === '' ? fallback : value;
  }

  function json(name) {
    var value = params.get(name);
    return value === null || value === '' ? undefined : JSON.parse(value);
  }

  /* Extra request parameters: every "p.<name>=<value>" in the page URL becomes "<name>=<value>" on the request. */
  function extraParams() {
    var extra = {};
    params.forEach(function (value, key) {
      if (key.indexOf('p.') === 0 && key.length > 2) extra[key.slice(2)] = value;
    });
    return extra;
  }

  function afterFrames(n, callback) {
    var step = function () { if (--n <= 0) callback(); else requestAnimationFrame(step); };
    requestAnimationFrame(step);
  }

  function event(name, detail) {
    window.__events.push({ t: Math.round(performance.now()), name: name, detail: detail === undefined ? null : detail });
  }

  function run(setup) {
    try {
      setup();
    } catch (e) {
      fail('page setup failed: ' + (e && e.stack ? e.stack : e));
    }
  }

  window.addEventListener('error', function (e) {
    fail('uncaught: ' + (e.error && e.error.stack ? e.error.stack : e.message));
  });
  window.addEventListener('unhandledrejection', function (e) {
    var r = e.reason;
    fail('unhandled rejection: ' + (r && r.stack ? r.stack : r));
  });

  window.harness = {
    params: params,
    fail: fail,
    required: required,
    numbers: numbers,
    bool: bool,
    num: num,
    str: str,
    json: json,
    extraParams: extraParams,
    afterFrames: afterFrames,
    event: event,
    run: run
  };
})();
