// Live updates over the caller's event stream (GET /api/v1/events, signed
// in by the session cookie). Enhancement only: every page is complete
// without it. The browser's EventSource reconnects on its own and sends
// Last-Event-ID, so the server replays whatever was missed.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const inbox = document.querySelector("a.inbox[data-unread-from]");
  const room = document.querySelector("[data-live-room]");
  const regions = [...document.querySelectorAll("[data-live-refresh][id]")];
  if (!inbox && !room && regions.length === 0 || typeof EventSource === "undefined") return;
  const events = new EventSource("/api/v1/events");

  // The unread count in the header, from the inbox itself.
  async function refreshUnread() {
    const response = await fetch(inbox.dataset.unreadFrom, { credentials: "same-origin" });
    if (!response.ok) return;
    const unread = (await response.json()).items.length;
    let badge = inbox.querySelector(".badge");
    if (unread === 0) {
      if (badge) badge.remove();
    } else {
      if (!badge) {
        badge = document.createElement("span");
        badge.className = "badge";
        badge.setAttribute("aria-hidden", "true");
        inbox.append(badge);
      }
      badge.textContent = String(Math.min(unread, 99));
    }
    const words = unread === 0 ? "none" : unread >= 100 ? "99+" : String(unread);
    inbox.setAttribute("aria-label", `Notifications, ${words} unread`);
  }

  // The room's list of who is present, from the page itself.
  async function refreshRoom() {
    const response = await fetch(window.location.href, { credentials: "same-origin" });
    if (!response.ok) return;
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = page.querySelector("[data-live-room]");
    const current = document.querySelector("[data-live-room]");
    if (fresh && current) current.replaceWith(fresh);
  }

  // A part of the page that follows events of some kinds (its
  // data-live-refresh lists them), from the page itself. A part someone is
  // typing into is left alone: their words matter more than the news.
  const typing = (region) =>
    region.contains(document.activeElement) && document.activeElement.matches("input, textarea, select") ||
    [...region.querySelectorAll("textarea, input:not([type=hidden])")]
      .some((f) => f.value !== f.defaultValue || f.checked !== f.defaultChecked);
  async function refreshRegions(kind) {
    const stale = regions.filter((r) => r.dataset.liveRefresh.split(" ").includes(kind));
    if (stale.length === 0) return;
    const response = await fetch(window.location.href, { credentials: "same-origin" });
    if (!response.ok) return;
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    for (const region of stale) {
      const current = document.getElementById(region.id);
      const fresh = page.getElementById(region.id);
      if (current && fresh && !typing(current)) current.replaceWith(fresh);
    }
    regions.splice(0, regions.length, ...document.querySelectorAll("[data-live-refresh][id]"));
  }

  if (inbox) events.addEventListener("NOTIFICATION", refreshUnread);
  if (room) events.addEventListener("PRESENCE", refreshRoom);
  for (const kind of new Set(regions.flatMap((r) => r.dataset.liveRefresh.split(" ")))) {
    events.addEventListener(kind, () => refreshRegions(kind));
  }
});
