// Health chatbot page: sends the question to POST /api/chat and shows the answer without a page
// reload. Without JavaScript the form posts to /chat and the server renders the same answer.
"use strict";
(function () {
  const form = document.getElementById("chat-form");
  const log = document.getElementById("chat-log");
  const labels = document.getElementById("chat-labels");
  if (!form || !log || !labels) return;
  const field = form.elements.namedItem("question");
  const button = form.querySelector("button[type=submit]");

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function showReply(reply) {
    const box = element("div", "chat-msg chat-bot chat-" + reply.triage);
    box.dataset.triage = reply.triage;
    box.appendChild(element("p", "chat-level", labels.dataset[reply.triage] || reply.triage));
    box.appendChild(element("div", "chat-answer", reply.answer));
    if (reply.sources.length) {
      box.appendChild(element("p", "chat-sources-title", labels.dataset.sources));
      const list = element("ul", "chat-sources");
      for (const source of reply.sources) {
        const item = element("li");
        if (source.url) {
          const link = element("a", "", source.title);
          link.href = source.url;
          link.rel = "noopener noreferrer";
          item.appendChild(link);
        } else {
          item.appendChild(document.createTextNode(source.title));
        }
        const note = " — " + source.source + " (" + labels.dataset.reviewed + " " + source.reviewed + ")";
        item.appendChild(element("span", "muted", note));
        list.appendChild(item);
      }
      box.appendChild(list);
    }
    log.appendChild(box);
    box.scrollIntoView({ block: "start" });
  }

  form.addEventListener("submit", async function (event) {
    const question = field.value.trim();
    if (!question) return;
    event.preventDefault();
    log.appendChild(element("div", "chat-msg chat-user", question));
    button.disabled = true;
    try {
      const response = await fetch("/api/chat", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ question: question }),
      });
      if (!response.ok) throw new Error(String(response.status));
      showReply(await response.json());
      field.value = "";
    } catch (error) {
      log.appendChild(element("p", "error", labels.dataset.error));
    } finally {
      button.disabled = false;
      field.focus();
    }
  });
})();
