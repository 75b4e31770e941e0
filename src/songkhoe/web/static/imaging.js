// Chest X-ray study page: switch between the film and the AI heatmap without reloading.
// Without JavaScript the same link reloads the page with ?overlay=1.
document.addEventListener("DOMContentLoaded", () => {
  const toggle = document.getElementById("overlay-toggle");
  const image = document.getElementById("film-image");
  if (!toggle || !image || !image.dataset.heatmap) return;
  toggle.addEventListener("click", (event) => {
    event.preventDefault();
    const showingFilm = image.getAttribute("src") === image.dataset.film;
    image.setAttribute("src", showingFilm ? image.dataset.heatmap : image.dataset.film);
    toggle.textContent = showingFilm ? toggle.dataset.hide : toggle.dataset.show;
    toggle.setAttribute("href", showingFilm ? "?overlay=0" : "?overlay=1");
  });
});

// Upload form: a file over the size limit is refused here, next to the field, before it is
// sent (the server checks again, and answers a body over SONGKHOE_MAX_BODY_MB with a bare 413).
document.addEventListener("DOMContentLoaded", () => {
  const input = document.getElementById("film");
  const error = document.getElementById("film-error");
  if (!input || !error || !input.dataset.maxBytes) return;
  input.addEventListener("change", () => {
    const file = input.files[0];
    const tooLarge = Boolean(file) && file.size > Number(input.dataset.maxBytes);
    input.setCustomValidity(tooLarge ? error.dataset.tooLarge : "");
    error.textContent = tooLarge ? error.dataset.tooLarge : "";
    error.hidden = !tooLarge;
  });
});
