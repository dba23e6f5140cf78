// Shared by every browser test and benchmark: a static HTTP server on 127.0.0.1 with an ephemeral
// port, and Debian's chromium driven headless by puppeteer-core (which downloads no browser).
import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import puppeteer from "puppeteer-core";

const contentTypes = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".onnx": "application/octet-stream",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
};

// Serves `root` (and nothing outside it). `headers` are added to every response, e.g. the
// COOP/COEP pair that enables cross-origin isolation and with it WebAssembly threads.
export async function serveDirectory(root, headers = {}) {
  const base = path.resolve(root);
  const server = createServer(async (request, response) => {
    try {
      const requested = decodeURIComponent(new URL(request.url, "http://localhost").pathname);
      let file = path.resolve(base, "." + requested);
      if (file !== base && !file.startsWith(base + path.sep)) {
        response.writeHead(403).end();
        return;
      }
      if ((await stat(file)).isDirectory()) file = path.join(file, "index.html");
      const body = await readFile(file);
      response.writeHead(200, {
        "Content-Type": contentTypes[path.extname(file).toLowerCase()] ?? "application/octet-stream",
        "Content-Length": body.length,
        ...headers,
      });
      response.end(body);
    } catch {
      response.writeHead(404, headers).end();
    }
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

export function chromiumPath() {
  return process.env.MLTK_CHROMIUM ?? "/usr/bin/chromium";
}

// Tests run as root, where chromium refuses its sandbox; the pages are our own.
export async function launchBrowser() {
  try {
    await stat(chromiumPath());
  } catch {
    throw new Error(`chromium not found at ${chromiumPath()}: run scripts/setup.sh (it installs Debian's chromium) or set MLTK_CHROMIUM`);
  }
  return puppeteer.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
}
