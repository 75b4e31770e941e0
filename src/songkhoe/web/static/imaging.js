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
