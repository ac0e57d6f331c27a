// The image page: the left and right arrow keys go to the previous and next image.
(function () {
  document.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
    if (event.target.closest && event.target.closest("input, select, textarea")) return;
    const id = { ArrowLeft: "prev-image", ArrowRight: "next-image" }[event.key];
    const link = id && document.getElementById(id);
    if (link) { event.preventDefault(); link.click(); }
  });
})();
