// Live chat on a consultation: messages go over the case's WebSocket (the server keeps each as a
// FHIR Communication, then broadcasts it); without a socket the form posts as plain HTML.
(function () {
  "use strict";
  var section = document.getElementById("chat");
  var form = document.getElementById("chat-form");
  var log = document.getElementById("chat-log");
  var status = document.getElementById("chat-status");
  if (!section || !log || !("WebSocket" in window)) { return; }
  var scheme = location.protocol === "https:" ? "wss://" : "ws://";
  var socket = new WebSocket(scheme + location.host + section.dataset.ws);
  var open = false;

  function add(item) {
    var li = document.createElement("li");
    if (item.recommendation) { li.className = "th-rec"; }
    var meta = document.createElement("span");
    meta.className = "muted";
    meta.textContent = item.sent + " · " + item.sender;
    var text = document.createElement("p");
    text.className = "th-pre";
    text.textContent = item.text;
    li.appendChild(meta);
    li.appendChild(text);
    log.appendChild(li);
    log.scrollTop = log.scrollHeight;
  }

  socket.addEventListener("open", function () { open = true; section.dataset.live = "1"; });
  socket.addEventListener("close", function () {
    open = false;
    delete section.dataset.live;
    status.textContent = section.dataset.offline;
  });
  socket.addEventListener("message", function (event) {
    var item = JSON.parse(event.data);
    if (item.error) { status.textContent = item.error; return; }
    add(item);
  });
  if (form) {
    form.addEventListener("submit", function (event) {
      var box = form.querySelector("textarea");
      if (!open || !box.value.trim()) { return; }  // no socket: the plain form post
      event.preventDefault();
      socket.send(JSON.stringify({ text: box.value }));
      box.value = "";
    });
  }
}());
