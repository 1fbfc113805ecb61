// The print view's "Drucken" button opens the browser's print dialog (also "Save as PDF").
document.getElementById("drucken")?.addEventListener("click", () => window.print());
