// Drives a deployment's web app in headless Debian chromium: serves WEB_DIR on 127.0.0.1, opens the
// page, classifies each IMAGE (a path relative to WEB_DIR) through window.mltkClassify and prints
// one JSON line per image, {"image", "index", "label", "probabilities"}, after a first line
// {"crossOriginIsolated", "threads", "about"} describing the page. Saves a screenshot of the page after the
// last image.
//
//   node classify_deployment.mjs [--isolated] WEB_DIR SCREENSHOT.png IMAGE...
//
// --isolated serves the COOP/COEP headers that allow WebAssembly threads.
import { launchBrowser, serveDirectory } from "../../tools/browser/browser.mjs";

const args = process.argv.slice(2);
const isolated = args[0] === "--isolated";
if (isolated) args.shift();
const [webDir, screenshot, ...images] = args;
if (!webDir || !screenshot || images.length === 0) {
  console.error("usage: node classify_deployment.mjs [--isolated] WEB_DIR SCREENSHOT.png IMAGE...");
  process.exit(2);
}

const headers = isolated
  ? { "Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp" }
  : {};
const server = await serveDirectory(webDir, headers);
const browser = await launchBrowser();
let failed = false;
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 900, height: 640 });
  page.on("pageerror", (error) => {
    console.error(`page error: ${error.message}`);
    failed = true;
  });
  page.on("console", (message) => {
    if (message.type() === "error") console.error(`page console: ${message.text()}`);
  });
  await page.goto(server.url, { waitUntil: "load" });
  await page.waitForFunction(() => window.mltkReady === true, { timeout: 120000 });
  const about = await page.evaluate(() => ({ crossOriginIsolated: self.crossOriginIsolated, text: document.getElementById("about").textContent }));
  const threads = Number((about.text.match(/(\d+) threads?/) || [])[1]);
  console.log(JSON.stringify({ crossOriginIsolated: about.crossOriginIsolated, threads, about: about.text }));
  for (const image of images) {
    const result = await page.evaluate((url) => window.mltkClassify(url), image);
    console.log(JSON.stringify({ image, ...result }));
  }
  await page.screenshot({ path: screenshot });
} finally {
  await browser.close();
  await server.close();
}
process.exit(failed ? 1 : 0);
