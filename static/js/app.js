// Turn every <select data-tom-select> into a searchable Tom Select; a
// data-url attribute loads options from a JSON endpoint as the user types.
function initTomSelect(root) {
  root.querySelectorAll("select[data-tom-select]").forEach(function (el) {
    if (el.tomselect) return;
    // The blank option stays unselectable so that the placeholder shows.
    var noResults = document.body.dataset.noResults || "";
    var options = {
      maxOptions: 50,
      allowEmptyOption: false,
      render: {
        no_results: function (data, escape) { return '<div class="no-results">' + escape(noResults) + "</div>"; }
      }
    };
    if (el.dataset.url) {
      options.valueField = "id";
      options.labelField = "text";
      options.searchField = ["text", "search"];
      options.load = function (query, callback) {
        fetch(el.dataset.url + "?q=" + encodeURIComponent(query), { credentials: "same-origin" })
          .then(function (r) { return r.json(); })
          .then(function (data) { callback(data.results); })
          .catch(function () { callback(); });
      };
    }
    new TomSelect(el, options);
  });
}
document.addEventListener("DOMContentLoaded", function () { initTomSelect(document); });
document.body && document.body.addEventListener("htmx:afterSwap", function (e) { initTomSelect(e.target); });
