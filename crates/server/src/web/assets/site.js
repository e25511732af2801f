// Enhancements only: every page works without this file.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // The organisation switcher moves as soon as a choice is made.
  for (const select of document.querySelectorAll("form.switcher select")) {
    select.addEventListener("change", () => select.form.requestSubmit());
  }

  // Ask before a step that cannot be undone.
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }

  // A held place's time left counts down. It starts from the seconds the
  // server counted when it drew the page, so a wrong clock on this device
  // cannot shorten or stretch it; at zero the offer has lapsed.
  // Each counter is found anew every second, so one a live update brings
  // in counts down too.
  const ends = new WeakMap();
  const remaining = (seconds) => {
    if (seconds <= 0) return "time is up: this place is no longer held";
    const h = Math.floor(seconds / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    const s = seconds % 60;
    if (h > 0) return `in ${h} h ${m} min ${s} s`;
    if (m > 0) return `in ${m} min ${s} s`;
    return `in ${s} s`;
  };
  const tick = () => {
    for (const node of document.querySelectorAll("[data-seconds-left]")) {
      if (!ends.has(node)) ends.set(node, performance.now() + Number(node.dataset.secondsLeft) * 1000);
      node.textContent = remaining(Math.max(0, Math.ceil((ends.get(node) - performance.now()) / 1000)));
    }
  };
  if (document.querySelector("[data-seconds-left], [data-live-refresh]")) {
    tick();
    setInterval(tick, 1000);
  }

  // A new API token can be copied with one press.
  for (const button of document.querySelectorAll("button[data-copy]")) {
    button.hidden = false;
    button.addEventListener("click", async () => {
      const source = document.getElementById(button.dataset.copy);
      await navigator.clipboard.writeText(source.textContent.trim());
      button.textContent = "Copied";
    });
  }
});
