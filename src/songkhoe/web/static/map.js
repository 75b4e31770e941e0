// The disease map: colours the areas of /static/geo/... by the classes the server computed
// (#map-data), with a tooltip per area. The boundaries are the whole map; a tile layer goes
// under them only when the server sets one (SONGKHOE_MAP_TILES_URL: data-tiles).
"use strict";
(function () {
  var COLOURS = ["#fee5d9", "#fcae91", "#fb6a4a", "#de2d26", "#a50f15"];
  var NONE = "#cccccc";
  var box = document.getElementById("map");
  var data = document.getElementById("map-data");
  if (!box || !data || !window.L) { return; }
  var info = JSON.parse(data.textContent);
  var tiles = box.dataset.tiles;
  var map = L.map(box, { zoomSnap: 0.25, attributionControl: Boolean(tiles) });
  if (tiles) {
    L.tileLayer(tiles, { maxZoom: 18, attribution: box.dataset.tilesAttribution || "" }).addTo(map);
  }
  fetch(box.dataset.geo, { credentials: "same-origin" })
    .then(function (r) { return r.json(); })
    .then(function (geo) {
      var coloured = 0;
      var layer = L.geoJSON(geo, {
        style: function (f) {
          var v = info.values[f.properties.code] || [null, null];
          return { color: "#555", weight: 0.7, fillOpacity: 0.85,
                   fillColor: v[1] === null ? NONE : COLOURS[v[1]] };
        },
        onEachFeature: function (f, l) {
          var v = info.values[f.properties.code] || [null, null];
          if (v[1] !== null) { coloured += 1; }
          var text = v[0] === null ? box.dataset.noData : v[0] + " " + info.unit;
          l.bindTooltip(f.properties.name + ": " + text, { sticky: true });
        }
      }).addTo(map);
      map.fitBounds(layer.getBounds());
      box.dataset.areas = String(geo.features.length);
      box.dataset.coloured = String(coloured);
      box.dataset.ready = "1";
    });
})();
