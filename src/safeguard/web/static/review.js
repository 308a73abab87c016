// Safeguard review workstation: keyboard grading, audited reveals, break prompt.
// No framework: the pages are server-rendered; this script only talks to the JSON API with the
// session's CSRF token in the X-CSRF-Token header.
"use strict";

(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
  const queue = document.getElementById("queue");
  if (!queue) return;
  const caseId = queue.dataset.case;
  const moderation = !!document.querySelector(".card.moderation");
  const FLAG_KEYS = { v: "victim_identified", e: "series", g: "self_generated", i: "ai_generated" };

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body || {}),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.detail || response.statusText);
    return data;
  }

  function say(text) {
    const box = document.getElementById("message");
    if (!box) return;
    box.textContent = text;
    box.hidden = !text;
  }

  function cards() {
    return Array.from(queue.querySelectorAll(".card"));
  }

  function focused() {
    return queue.querySelector(".card.focused") || cards()[0] || null;
  }

  function focus(card) {
    cards().forEach((c) => c.classList.toggle("focused", c === card));
    if (card) {
      card.focus({ preventScroll: true });
      card.scrollIntoView({ block: "nearest" });
    }
  }

  function updateWellbeing(state) {
    if (!state) return;
    const set = (id, value) => {
      const el = document.getElementById(id);
      if (el) el.textContent = value;
    };
    set("exposure-today", state.today);
    set("exposure-week", state.week);
    set("break-reveals", state.reveals_since_break);
    set("break-minutes", state.minutes_since_break);
    const prompt = document.getElementById("break-prompt");
    if (prompt) prompt.hidden = !state.break_due;
  }

  function reblur(card) {
    card.querySelectorAll("img[data-blurred]").forEach((img) => {
      img.src = img.dataset.blurred;
      img.classList.add("blurred");
      img.classList.remove("revealed");
    });
  }

  async function reveal(container, full) {
    const { exhibit, media } = container.dataset;
    const what = full ? "full" : "reveal";
    const data = await post(`/api/cases/${caseId}/items/${exhibit}/${media}/${what}`);
    updateWellbeing(data.wellbeing);
    if (!data.images.length) {
      say("No preview is stored for this item.");
      return;
    }
    if (full) {
      const viewer = document.getElementById("viewer");
      const holder = document.getElementById("viewer-images");
      holder.replaceChildren(
        ...data.images.map((src) => Object.assign(document.createElement("img"), { src, alt: "Full view" }))
      );
      viewer.hidden = false;
      return;
    }
    const imgs = container.querySelectorAll("img[data-blurred]");
    imgs.forEach((img, i) => {
      if (data.images[i]) {
        img.src = data.images[i];
        img.classList.remove("blurred");
        img.classList.add("revealed");
      }
    });
  }

  function grade(card, category) {
    const body = { category };
    card.querySelectorAll("input[data-flag]").forEach((box) => (body[box.dataset.flag] = box.checked));
    return post(`/api/cases/${caseId}/cards/${card.dataset.key}/grade`, body).then(() => {
      const next = card.nextElementSibling || card.previousElementSibling;
      card.remove();
      const count = document.getElementById("queue-count");
      if (count) count.textContent = Math.max(0, parseInt(count.textContent, 10) - 1);
      document.getElementById("queue-empty").hidden = cards().length > 0;
      say(`Graded ${category}.`);
      focus(next && next.classList.contains("card") ? next : cards()[0]);
    });
  }

  function skip(card) {
    reblur(card);
    const next = card.nextElementSibling;
    queue.appendChild(card);
    focus(next && next !== card ? next : cards()[0]);
  }

  function step(delta) {
    const list = cards();
    const at = list.indexOf(focused());
    const next = list[Math.min(list.length - 1, Math.max(0, at + delta))];
    if (next) focus(next);
  }

  function act(card, action, target) {
    const preview = card.querySelector(".preview");
    switch (action) {
      case "reveal":
        return reveal(preview, false);
      case "full":
        return reveal(preview, true);
      case "skip":
        return skip(card);
      case "reveal-member":
        return reveal(target.closest("figure"), false);
      case "split":
        return post(`/api/cases/${caseId}/cards/${card.dataset.key}/split`, {
          media_id: parseInt(target.dataset.media, 10),
        }).then(() => window.location.reload());
    }
  }

  function guard(promise) {
    if (promise && promise.catch) promise.catch((error) => say(error.message));
  }

  queue.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    const card = event.target.closest(".card");
    if (!card) return;
    if (!moderation) focus(card);
    if (!button) return;
    if (button.dataset.grade) guard(grade(card, button.dataset.grade));
    else if (button.dataset.action) guard(act(card, button.dataset.action, button));
  });

  document.getElementById("viewer-close")?.addEventListener("click", () => {
    document.getElementById("viewer").hidden = true;
    document.getElementById("viewer-images").replaceChildren();
  });

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest && event.target.closest("input, textarea, select")) return;
    const key = event.key.toLowerCase();
    const viewer = document.getElementById("viewer");
    if (key === "escape") {
      if (viewer) {
        viewer.hidden = true;
        document.getElementById("viewer-images").replaceChildren();
      }
      return;
    }
    const card = focused();
    if (!card) return;
    if (moderation) {
      if (key === "r") guard(act(card, "reveal"));
      if (key === "f") guard(act(card, "full"));
      return;
    }
    const gradeButton = card.querySelector(`button[data-key-char="${CSS.escape(key)}"]`);
    if (gradeButton) {
      event.preventDefault();
      guard(grade(card, gradeButton.dataset.grade));
    } else if (FLAG_KEYS[key]) {
      const box = card.querySelector(`input[data-flag="${FLAG_KEYS[key]}"]`);
      if (box) box.checked = !box.checked;
    } else if (key === "s") guard(act(card, "skip"));
    else if (key === "r") guard(act(card, "reveal"));
    else if (key === "f") guard(act(card, "full"));
    else if (key === "j" || key === "arrowdown") step(1);
    else if (key === "k" || key === "arrowup") step(-1);
  });

  focus(cards()[0]);
})();
