// Safeguard review workstation: keyboard grading, audited reveals, break prompt, a queue that
// loads more cards as the reviewer works, undo, remembered skips, notes.
// No framework: the pages are server-rendered; this script only talks to the server with the
// session's CSRF token in the X-CSRF-Token header.
"use strict";

(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
  const queue = document.getElementById("queue");
  if (!queue) return;
  const caseId = queue.dataset.case;
  const moderation = !!document.querySelector(".card.moderation") || !queue.dataset.page;
  const FLAG_KEYS = { v: "victim_identified", e: "series", g: "self_generated", i: "ai_generated" };
  const pageSize = parseInt(queue.dataset.page || "30", 10);
  let total = parseInt(queue.dataset.total || "0", 10);
  let loading = null;
  let lastGraded = null; // key of the card this reviewer graded last (for undo)
  let returnFocus = null; // where focus goes back to when the full view closes

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
      // The card's grade buttons must be on screen, not only its top.
      const buttons = card.querySelector(".grades") || card;
      card.scrollIntoView({ block: "nearest" });
      buttons.scrollIntoView({ block: "nearest" });
    }
  }

  function setTotal(n) {
    total = Math.max(0, n);
    const count = document.getElementById("queue-count");
    if (count) count.textContent = total;
    const empty = document.getElementById("queue-empty");
    // Never claim the queue is empty while the server says cards wait.
    if (empty) empty.hidden = total > 0 || cards().length > 0;
    const more = document.getElementById("queue-loading");
    if (more) more.hidden = cards().length >= total;
  }

  // Fetch the next cards the server has that this page does not show yet.
  function loadMore() {
    if (moderation || loading) return loading;
    const have = new Set(cards().map((c) => c.dataset.key));
    if (have.size >= total) return null;
    const query = queue.dataset.query ? `&${queue.dataset.query}` : "";
    // Cards graded meanwhile shift the server's list: ask from a little before the end of what
    // this page has, and drop the keys it already shows.
    const offset = Math.max(0, have.size - 5);
    const limit = pageSize + (have.size - offset);
    loading = fetch(`/cases/${caseId}/queue/cards?offset=${offset}&limit=${limit}${query}`, {
      credentials: "same-origin",
    })
      .then(async (response) => {
        if (!response.ok) throw new Error(response.statusText);
        const html = await response.text();
        const holder = document.createElement("div");
        holder.innerHTML = html;
        let added = 0;
        holder.querySelectorAll("article.card").forEach((card) => {
          if (!have.has(card.dataset.key)) {
            queue.appendChild(card);
            added += 1;
          }
        });
        setTotal(parseInt(response.headers.get("X-Queue-Total") || "0", 10));
        if (!added && cards().length < total && offset > 0) {
          // Out of step (another reviewer, a split...): start again from the top.
          const restart = await fetch(`/cases/${caseId}/queue/cards?offset=0&limit=${pageSize}${query}`, {
            credentials: "same-origin",
          });
          const again = document.createElement("div");
          again.innerHTML = await restart.text();
          again.querySelectorAll("article.card").forEach((card) => {
            if (!have.has(card.dataset.key)) queue.appendChild(card);
          });
        }
        if (!focused() || !queue.querySelector(".card.focused")) focus(cards()[0]);
      })
      .catch((error) => say(`Could not load more cards: ${error.message}`))
      .finally(() => {
        loading = null;
        setTotal(total);
      });
    return loading;
  }

  function maybeLoadMore() {
    if (moderation) return;
    const list = cards();
    const at = list.indexOf(focused());
    if (list.length < total && (list.length - at <= 8 || list.length < pageSize / 2)) loadMore();
  }

  function updateWellbeing(state) {
    if (!state) return;
    const set = (id, value) => {
      const el = document.getElementById(id);
      if (el) el.textContent = value;
    };
    set("exposure-today", state.today);
    set("exposure-week", state.week);
    set("break-text", state.break_text);
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

  function openViewer(images) {
    const viewer = document.getElementById("viewer");
    const holder = document.getElementById("viewer-images");
    holder.replaceChildren(
      ...images.map((src, i) =>
        Object.assign(document.createElement("img"), { src, alt: `Full view, image ${i + 1} of ${images.length}` })
      )
    );
    returnFocus = document.activeElement;
    viewer.hidden = false;
    document.getElementById("viewer-close").focus();
  }

  function closeViewer() {
    const viewer = document.getElementById("viewer");
    if (!viewer || viewer.hidden) return;
    viewer.hidden = true;
    document.getElementById("viewer-images").replaceChildren();
    const back = returnFocus && returnFocus.closest ? returnFocus.closest(".card") || returnFocus : focused();
    if (back) back.focus({ preventScroll: true });
    returnFocus = null;
  }

  async function reveal(container, full) {
    const { exhibit, media } = container.dataset;
    const what = full ? "full" : "reveal";
    let data;
    try {
      data = await post(`/api/cases/${caseId}/items/${exhibit}/${media}/${what}`);
    } catch (error) {
      const prompt = document.getElementById("break-prompt");
      if (prompt && /break/.test(error.message)) prompt.hidden = false;
      throw error;
    }
    updateWellbeing(data.wellbeing);
    if (!data.images.length) {
      say("No preview is stored for this item.");
      return;
    }
    if (full) {
      openViewer(data.images);
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

  function showUndo(key, category) {
    lastGraded = key;
    const bar = document.getElementById("undo-bar");
    if (!bar) return;
    document.getElementById("undo-text").textContent = `Graded ${category}.`;
    bar.hidden = false;
  }

  function grade(card, category) {
    const body = { category };
    card.querySelectorAll("input[data-flag]").forEach((box) => (body[box.dataset.flag] = box.checked));
    return post(`/api/cases/${caseId}/cards/${card.dataset.key}/grade`, body).then(() => {
      const next = card.nextElementSibling || card.previousElementSibling;
      card.remove();
      setTotal(total - 1);
      say("");
      showUndo(card.dataset.key, category);
      focus(next && next.classList.contains("card") ? next : cards()[0]);
      maybeLoadMore();
    });
  }

  function undo() {
    if (!lastGraded) return null;
    const key = lastGraded;
    return post(`/api/cases/${caseId}/cards/${key}/undo`).then(() => {
      lastGraded = null;
      document.getElementById("undo-bar").hidden = true;
      say("Your last vote was taken back: the card is back at the top of your queue.");
      const query = queue.dataset.query ? `&${queue.dataset.query}` : "";
      return fetch(`/cases/${caseId}/queue/cards?offset=0&limit=${pageSize}${query}`, { credentials: "same-origin" })
        .then(async (response) => {
          const holder = document.createElement("div");
          holder.innerHTML = await response.text();
          const back = holder.querySelector(`article.card[data-key="${CSS.escape(key)}"]`);
          if (back && !queue.querySelector(`article.card[data-key="${CSS.escape(key)}"]`)) {
            queue.prepend(back);
            focus(back);
          }
          setTotal(parseInt(response.headers.get("X-Queue-Total") || String(total + 1), 10));
        });
    });
  }

  function skip(card) {
    reblur(card);
    const next = card.nextElementSibling;
    queue.appendChild(card);
    focus(next && next !== card ? next : cards()[0]);
    maybeLoadMore();
    return post(`/api/cases/${caseId}/cards/${card.dataset.key}/skip`);
  }

  function addNote(target) {
    const input = target.closest("figure").querySelector("input[data-note]");
    const text = input ? input.value : "";
    if (!text || !text.trim()) {
      say("Write the note first.");
      return null;
    }
    const body = { text: text.trim().slice(0, 2000) };
    const { exhibit, media } = target.dataset;
    return post(`/api/cases/${caseId}/items/${exhibit}/${media}/notes`, body).then(() => {
      const list = target.closest("figure").querySelector("ul.notes");
      const item = document.createElement("li");
      item.textContent = `you: ${body.text}`;
      list.appendChild(item);
      input.value = "";
      say("Note saved.");
    });
  }

  function step(delta) {
    const list = cards();
    const at = list.indexOf(focused());
    const next = list[Math.min(list.length - 1, Math.max(0, at + delta))];
    if (next) focus(next);
    maybeLoadMore();
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
      case "note":
        return addNote(target);
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
    if (!button || !moderation) focus(card);
    if (!button) return;
    if (button.dataset.grade) guard(grade(card, button.dataset.grade));
    else if (button.dataset.action) guard(act(card, button.dataset.action, button));
  });
  queue.addEventListener("focusin", (event) => {
    const card = event.target.closest(".card");
    if (card && !card.classList.contains("focused")) {
      cards().forEach((c) => c.classList.toggle("focused", c === card));
    }
  });

  document.getElementById("viewer-close")?.addEventListener("click", closeViewer);
  document.getElementById("undo-button")?.addEventListener("click", () => guard(undo()));
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const viewer = document.getElementById("viewer");
    const key = event.key.toLowerCase();
    if (key === "escape") {
      closeViewer();
      return;
    }
    if (viewer && !viewer.hidden) {
      if (key === "tab") {
        event.preventDefault(); // keep focus inside the full view
        document.getElementById("viewer-close").focus();
      }
      return;
    }
    if (event.target.closest && event.target.closest("input, textarea, select")) return;
    if (event.target.closest && event.target.closest("button, a") && (key === "enter" || key === " ")) return;
    const card = focused();
    if (!card) return;
    if (moderation) {
      if (key === "r") guard(act(card, "reveal"));
      else if (key === "f") guard(act(card, "full"));
      else if (key === "j" || key === "arrowdown") step(1);
      else if (key === "k" || key === "arrowup") step(-1);
      else {
        const option = card.querySelector(`option[data-key-char="${CSS.escape(key)}"]`);
        if (option) {
          event.preventDefault();
          option.selected = true;
          card.querySelector("form.decide button[type=submit]").focus();
        }
      }
      return;
    }
    const gradeButton = card.querySelector(`button[data-key-char="${CSS.escape(key)}"]`);
    if (gradeButton) {
      event.preventDefault();
      guard(grade(card, gradeButton.dataset.grade));
    } else if (FLAG_KEYS[key]) {
      const box = card.querySelector(`input[data-flag="${FLAG_KEYS[key]}"]`);
      if (box) box.checked = !box.checked;
    } else if (key === "u") guard(undo());
    else if (key === "s") guard(act(card, "skip"));
    else if (key === "r") guard(act(card, "reveal"));
    else if (key === "f") guard(act(card, "full"));
    else if (key === "j" || key === "arrowdown") step(1);
    else if (key === "k" || key === "arrowup") step(-1);
  });

  focus(cards()[0]);
  setTotal(total);
  maybeLoadMore();
})();
