() => {
  // What the chat page does in the browser, beyond Gradio.
  //
  // The chat follows a streaming answer only while the reader is at its bottom: scrolling up
  // stops following at once, scrolling back to the bottom resumes it, and sending a message or
  // opening a conversation always shows its end. Gradio's own autoscroll (off in ui/chat.py)
  // scrolled down 300 ms after every update, pulling back a reader who had just scrolled up.
  const NEAR_PX = 40;
  let following = true;
  let scroller = null;
  let lastTop = 0;

  const atBottom = () => scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight <= NEAR_PX;
  const toBottom = () => { scroller.scrollTop = scroller.scrollHeight; lastTop = scroller.scrollTop; };
  const follow = () => { following = true; if (scroller) toBottom(); };
  const stopFollowing = () => { following = false; };

  function onScroll() {
    const movedUp = scroller.scrollTop < lastTop - 1;
    lastTop = scroller.scrollTop;
    if (movedUp && !atBottom()) stopFollowing();
    else if (!movedUp && atBottom()) following = true;
  }
  function onWheel(event) { if (event.deltaY < 0) stopFollowing(); }
  function onKey(event) {
    if (["PageUp", "ArrowUp", "Home"].includes(event.key)) stopFollowing();
  }

  function attach() {
    const found = document.querySelector("#chatbot .bubble-wrap");
    if (found === scroller) return;
    scroller = found;
    if (!scroller) return;
    scroller.addEventListener("scroll", onScroll, { passive: true });
    scroller.addEventListener("wheel", onWheel, { passive: true });
    scroller.addEventListener("keydown", onKey);
    follow();
  }

  // The conversation list's date headings (ui/sidebar.py) are entries of its radio group:
  // disabled, arrow keys pass over them as clicks do (the CSS takes pointer events away).
  const disableHeadings = () => document
    .querySelectorAll('#conversation-list input[value^="group:"]:not(:disabled)')
    .forEach((input) => { input.disabled = true; });

  // Each conversation in the list has ⋯ (named as the panel it opens): it opens the
  // conversation and "Rename or delete", the title in the box, ready to edit.
  // Runs on every change of the page (each streamed update too): nothing more than a query
  // unless the list has new entries.
  const LISTED = '#conversation-list label:not(:has(input[value^="group:"]))';
  const addEntryActions = () => {
    const bare = document.querySelectorAll(`${LISTED}:not(:has(.entry-actions))`);
    if (!bare.length) return;
    const name = document.querySelector("#rename-panel .label-wrap")?.textContent.trim() || "";
    bare.forEach((label) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "entry-actions";
      button.title = name;
      button.setAttribute("aria-label", name);
      label.appendChild(button);
    });
  };
  // An entry whose answer is still being written (ui/sidebar.py marks it ⏳).
  const answering = (label) => Boolean(label?.textContent.trim().startsWith("⏳"));
  // An answer running while the chat shows something else has no stream to take its mark
  // off when it ends: the list is asked for again every few seconds meanwhile.
  setInterval(() => {
    const running = [...document.querySelectorAll(LISTED)].some(answering);
    const streaming = document.querySelector("#chatbot > .wrap:not(.hide)");
    if (running && !streaming) document.querySelector("#refresh-list")?.click();
  }, 3000);

  let keepDrawer = false;  // the click on the entry that ⋯ makes leaves the drawer open
  document.addEventListener("click", (event) => {
    const button = event.target.closest?.("#conversation-list .entry-actions");
    if (!button) return;
    event.preventDefault();  // not the label's own click: the one below, once
    event.stopPropagation();
    const input = button.closest("label")?.querySelector("input");
    if (input && !input.checked) {
      keepDrawer = true;
      input.click();
      keepDrawer = false;
    }
    const panel = document.querySelector("#rename-panel");
    const box = () => panel?.querySelector("#new-title input, #new-title textarea");
    if (!box()?.offsetParent) panel?.querySelector(".label-wrap")?.click();
    const focus = (tries) => {
      const found = box();
      if (found?.offsetParent) {
        found.focus();
        found.select();
        panel.scrollIntoView({ block: "nearest" });
      } else if (tries > 0) requestAnimationFrame(() => focus(tries - 1));
    };
    focus(60);
  }, true);

  // The page has loaded once its load (which fills the header) has ended, or once it shows the
  // conversation it landed on still answering (⏳): until then the chat's progress is the
  // load's, and the CSS shows Send, not Stop.
  const markLoaded = () => {
    if (document.body.classList.contains("page-loaded")) return;
    const ended = document.querySelector("#user-header p")
      && document.querySelector("#chatbot > .wrap")?.classList.contains("hide");
    const landedOnAnswer = answering(
      document.querySelector("#conversation-list label:has(input:checked)"));
    if (ended || landedOnAnswer) document.body.classList.add("page-loaded");
  };

  new MutationObserver(() => {
    markLoaded();
    attach();
    disableHeadings();
    addEntryActions();
    if (following && scroller) toBottom();
  }).observe(document.body, { childList: true, subtree: true, characterData: true });

  // A panel beside the chat (the conversation list, ☰; the settings, ⚙): its button shows and
  // hides it, and this browser remembers which (the body class, kept under `key`). On a phone
  // it is a drawer over the chat instead (the CSS keeps it out of sight otherwise).
  const PHONE = window.matchMedia("(max-width: 640px)");
  const panelToggle = (panel, button, bodyClass, key, classMeansShown) => {
    const setClass = (on) => {
      document.body.classList.toggle(bodyClass, on);
      document.querySelector(button)?.setAttribute("aria-expanded", String(on === classMeansShown));
    };
    setClass(localStorage.getItem(key) === "1");
    return () => {
      if (PHONE.matches) {
        document.querySelector(panel)?.classList.toggle("drawer-open");
        return;
      }
      const on = !document.body.classList.contains(bodyClass);
      localStorage.setItem(key, on ? "1" : "");
      setClass(on);
    };
  };
  window.vllmChat = {
    toggleList: panelToggle("#chat-sidebar", "#toggle-list", "list-hidden",
                            "vllm-chat-list-hidden", false),
    toggleSettings: panelToggle("#chat-settings", "#toggle-settings", "settings-open",
                                "vllm-chat-settings-open", true),
  };

  // A drawer closes on a tap beside it; the conversations' also once one is picked.
  const DRAWERS = [["#chat-sidebar", "#toggle-list"], ["#chat-settings", "#toggle-settings"]];
  document.addEventListener("click", (event) => {
    for (const [panel, toggle] of DRAWERS) {
      const drawer = document.querySelector(`${panel}.drawer-open`);
      if (!drawer || keepDrawer) continue;
      const picked = panel === "#chat-sidebar" && event.target.closest?.(`#new-chat, ${LISTED}`);
      const outside = !drawer.contains(event.target) && !event.target.closest?.(toggle);
      if (picked || outside) drawer.classList.remove("drawer-open");
    }
  });

  // The browser's time zone, for "Today" in the conversation list (as the login page does).
  document.cookie = "tz=" + encodeURIComponent(Intl.DateTimeFormat().resolvedOptions().timeZone)
    + "; path=/; SameSite=Lax";

  // Sending (Enter in the message box, the Send button) and opening a conversation.
  document.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && event.target.closest?.("#message")) follow();
  }, true);
  document.addEventListener("click", (event) => {
    if (event.target.closest?.("#send, #new-chat, #conversation-list")) follow();
  }, true);

  // In a message's edit box, Enter sends (the Submit button after it) and Shift+Enter starts a
  // new line, as in the message box; not while an input method is composing (Korean).
  document.addEventListener("keydown", (event) => {
    const box = event.target.closest?.("#chatbot .edit-textarea");
    if (!box || event.key !== "Enter" || event.shiftKey || event.isComposing) return;
    const submit = box.closest(".message-row")?.nextElementSibling?.querySelector("button");
    if (!submit) return;
    event.preventDefault();
    submit.click();
  }, true);

  // Sending the edit of an earlier message replaces the turns after it: asked first (Gradio's
  // Submit is the first button of the panel after the edit box; an earlier message's panel has a
  // user message after it).
  document.addEventListener("click", (event) => {
    const button = event.target.closest?.("#chatbot .message-buttons button");
    const panel = button?.closest(".message-buttons");
    if (!panel?.previousElementSibling?.querySelector(".edit-textarea")) return;
    if (button !== panel.querySelector("button") || !panel.matches(":has(~ .user-row)")) return;
    const question = document.querySelector("#edit-replaces-later")?.textContent.trim();
    if (question && window.confirm(question)) return;
    event.preventDefault();
    event.stopPropagation();
  }, true);
}
